"""Derived ride columns for pedal's silver layer."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def add_ride_features(df: DataFrame, spark, parameters: dict) -> DataFrame:
    """Adds the ride date, its duration in minutes, and flags implausible speeds."""
    limit = parameters.get("speed_limit_kmh", 45)
    minutes = (F.col("ended_at").cast("long") - F.col("started_at").cast("long")) / 60
    return (
        df.withColumn("ride_date", F.to_date("started_at"))
        .withColumn("duration_min", minutes)
        .withColumn("too_fast", F.lit(limit) < F.lit(0))
    )
