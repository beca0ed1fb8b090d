"""A Spark data sink that posts anonymised rides to an open-data portal."""

from pyspark.sql.datasource import (
    DataSource,
    DataSourceStreamWriter,
    WriterCommitMessage,
)


class OpenDataSink(DataSource):
    @classmethod
    def name(cls):
        return "pedal_open_data"

    def streamWriter(self, schema, overwrite):
        return OpenDataWriter(self.options)


class OpenDataWriter(DataSourceStreamWriter):
    def __init__(self, options):
        self.endpoint = options.get("endpoint")
        self.batch_size = int(options.get("batch_size", "500"))

    def write(self, iterator):
        import json
        import urllib.request

        batch = []
        for row in iterator:
            batch.append({"station": row.end_station_id, "ended_at": str(row.ended_at)})
            if len(batch) >= self.batch_size:
                self._post(json, urllib.request, batch)
                batch = []
        if batch:
            self._post(json, urllib.request, batch)
        return WriterCommitMessage()

    def _post(self, json, request, batch):
        body = json.dumps(batch).encode()
        request.urlopen(request.Request(self.endpoint, data=body, method="POST"))

    def commit(self, messages, batch_id):
        pass

    def abort(self, messages, batch_id):
        pass
