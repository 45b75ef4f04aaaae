"""The benchmark of issue 6: a data generator (`bench.generate`) and a runner
(`bench.run`) that measures every page in-process and over HTTP. See
docs/PERFORMANCE.md."""
