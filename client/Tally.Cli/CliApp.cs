namespace Tally.Cli;

/// <summary>The <c>tally</c> command: a verb, a sub-verb and --options.</summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = CliOptions.Parse(args);
        try
        {
            return (options.Verb, options.SubVerb) switch
            {
                ("bench", "ingest") => await IngestBench.RunAsync(options),
                ("bench", "read") => await ReadBench.RunAsync(options),
                ("bench", "boards") => await BoardsBench.RunAsync(options),
                _ => Usage(),
            };
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("""
            usage: tally <command> [options]

              bench ingest   plain COPY vs naive per-event transactions vs Tally over HTTP; writes docs/benchmarks.md
                  --events N        events per scenario (default 200000)
                  --batch N         events per HTTP request (default 500)
                  --concurrency N   concurrent HTTP requests (default 16)
                  --users N         distinct users (default 20000)
                  --only tally      run only the Tally scenario and print it (profiling; docs untouched)
              bench read     user-stats reads over HTTP
                  --reads N         reads (default 200000)
                  --concurrency N   concurrent requests (default 32)
              bench boards   rank index (1M, 10M) vs Redis sorted set, then freshness and page latency over HTTP
                  --sizes A,B       index sizes (default 1000000,10000000)
                  --redis-members N sorted-set size (default 1000000)
                  --users N         board members end to end (default 20000)
                  --samples N       freshness samples (default 200)
                  --seconds N       seconds of reads under load (default 20)
                  --concurrency N   concurrent readers (default 16)

            Connection settings come from .tally/local.env (written by deploy/local/up) or the
            environment: TALLY_URL, TALLY_ADMIN_KEY, TALLY_PG, TALLY_REDIS.
            """);
        return 2;
    }
}

internal sealed class CliException(string message) : Exception(message);
