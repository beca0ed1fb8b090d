WITH run_info AS (
    SELECT
        origin.pipeline_name,
        origin.pipeline_id,
        origin.update_id,
        MIN(`timestamp`) AS run_start_time,
        MAX(`timestamp`) AS run_end_time,
        MAX_BY(
            CASE WHEN event_type = 'update_progress'
                THEN details:update_progress:state::STRING END,
            CASE WHEN event_type = 'update_progress'
                THEN `timestamp` END
        ) AS run_status
    FROM {streaming_table}
    GROUP BY origin.pipeline_name, origin.pipeline_id, origin.update_id
),
run_metrics AS (
    SELECT
        origin.pipeline_name,
        origin.update_id,
        SUM(COALESCE(details:flow_progress:metrics:num_upserted_rows::BIGINT, 0))
          AS total_upserted_rows,
        SUM(COALESCE(details:flow_progress:metrics:num_deleted_rows::BIGINT, 0))
          AS total_deleted_rows,
        SUM(COALESCE(details:flow_progress:data_quality:dropped_records::BIGINT, 0))
          AS total_dropped_records,
        COUNT(DISTINCT origin.flow_name) AS tables_processed
    FROM {streaming_table}
    WHERE event_type = 'flow_progress'
      AND details:flow_progress:metrics IS NOT NULL
    GROUP BY origin.pipeline_name, origin.update_id
),
run_config AS (
    SELECT
        origin.pipeline_name,
        origin.update_id,
        MAX(details:create_update:runtime_version:dbr_version::STRING) AS dbr_version,
        MAX(CASE WHEN details:create_update:config:serverless::BOOLEAN
            THEN 'Serverless' ELSE 'Classic' END) AS compute_type,
        MAX(details:create_update:cause::STRING) AS trigger_cause,
        MAX(details:create_update:full_refresh::BOOLEAN) AS is_full_refresh
    FROM {streaming_table}
    WHERE event_type = 'create_update'
    GROUP BY origin.pipeline_name, origin.update_id
)
SELECT
    ri.pipeline_name,
    ri.pipeline_id,
    ri.update_id,
    ri.run_status,
    rc.trigger_cause,
    rc.is_full_refresh,
    rc.dbr_version,
    rc.compute_type,
    ri.run_start_time,
    ri.run_end_time,
    ROUND((unix_timestamp(ri.run_end_time) - unix_timestamp(ri.run_start_time)) / 60, 2)
      AS duration_minutes,
    COALESCE(rm.tables_processed, 0) AS tables_processed,
    COALESCE(rm.total_upserted_rows, 0) AS total_upserted_rows,
    COALESCE(rm.total_deleted_rows, 0) AS total_deleted_rows,
    COALESCE(rm.total_upserted_rows, 0) + COALESCE(rm.total_deleted_rows, 0)
      AS total_rows_affected,
    COALESCE(rm.total_dropped_records, 0) AS total_dropped_records
FROM run_info ri
LEFT JOIN run_metrics rm
  ON ri.pipeline_name = rm.pipeline_name AND ri.update_id = rm.update_id
LEFT JOIN run_config rc
  ON ri.pipeline_name = rc.pipeline_name AND ri.update_id = rc.update_id
ORDER BY ri.run_start_time DESC