# The body of the batch handler: `df` is the micro-batch, `batch_id` its number.
df.createOrReplaceTempView("partner_ride_updates")
df.sparkSession.sql("""
    MERGE INTO ${catalog}.partners.rides AS t
    USING partner_ride_updates AS u ON t.ride_id = u.ride_id
    WHEN MATCHED THEN UPDATE SET *
    WHEN NOT MATCHED THEN INSERT *
""")
