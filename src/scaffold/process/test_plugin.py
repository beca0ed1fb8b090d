"""Tests of the __NAME__ plugin: run it as lhp does and check its answers."""
import json
import pathlib
import subprocess
import unittest

PLUGIN = pathlib.Path(__file__).with_name("lhp-plugin-__NAME__")


def exchange(*requests):
    lines = "".join(json.dumps({"id": i + 1, "method": m, "params": p}) + "\n" for i, (m, p) in enumerate(requests))
    done = subprocess.run([str(PLUGIN)], input=lines, capture_output=True, text=True, timeout=30, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


ACTION = {
    "name": "tag_rides", "kind": "transform", "type": "__NAME__", "target": "v_tagged",
    "sources": ["v_rides"], "config": {"column": "origin", "value": "web"},
}


class PluginTest(unittest.TestCase):
    def test_describe(self):
        (reply,) = exchange(("describe", {"protocol": 1, "lhp_version": "0.1.0", "project_root": ".", "config": {}}))
        self.assertEqual(reply["result"]["provides"][0]["type"], "__NAME__")

    def test_generate_parses(self):
        (reply,) = exchange(("generate", {"action": ACTION, "group": [], "context": {}}))
        code = reply["result"]["code"]
        compile(code, "<generated>", "exec")
        self.assertIn('withColumn("origin", F.lit(\'web\'))', code)

    def test_bad_config_is_an_error(self):
        bad = dict(ACTION, config={})
        (reply,) = exchange(("generate", {"action": bad, "group": [], "context": {}}))
        self.assertIn("column", reply["error"]["message"])


if __name__ == "__main__":
    unittest.main()
