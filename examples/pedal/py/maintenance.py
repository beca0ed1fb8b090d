"""Repairs the workshop has scheduled, from its planning API."""

from pyspark.sql import DataFrame


def scheduled_repairs(spark, parameters: dict) -> DataFrame:
    """One row per bike due in the workshop within `horizon_days`."""
    horizon = int(parameters.get("horizon_days", 7))
    return spark.sql(
        f"SELECT bike_id, due_on FROM workshop.plan WHERE due_on < current_date() + {horizon}"
    )
