using System.CommandLine;

namespace Tally.Cli.Bench;

/// <summary><c>tally bench ingest|read|boards|memory|lifecycle|jobs|soak|webhooks|collect|scale</c>: each runs against its own tenant and prints its figures;
/// <c>--write-docs</c> records them in docs/benchmarks.md.</summary>
internal static class BenchCommands
{
    private static readonly Option<bool> WriteDocs = new("--write-docs") { Description = "Write the figures into docs/benchmarks.md (otherwise only printed)." };

    public static Command Build()
    {
        var bench = new Command("bench", "Benchmarks against a running Tally (deploy/local/up); figures as in docs/benchmarks.md.");
        bench.Subcommands.Add(Ingest());
        bench.Subcommands.Add(Read());
        bench.Subcommands.Add(Boards());
        bench.Subcommands.Add(Memory());
        bench.Subcommands.Add(Lifecycle());
        bench.Subcommands.Add(Jobs());
        bench.Subcommands.Add(Webhooks());
        bench.Subcommands.Add(Soak());
        bench.Subcommands.Add(Collect());
        bench.Subcommands.Add(Scale());
        return bench;
    }

    private static Command Scale()
    {
        var users = TallyCli.Positive("--users", 1_000_000, "Users loaded through the API.");
        var weeks = TallyCli.Positive("--weeks", 1, "Events per user, a week apart, the last this month (52: a year of weekly activity).");
        TallyCli.Require(weeks, w => w <= 104, "--weeks must be at most 104 (the raw retention of 24 months).");
        var shards = TallyCli.Positive("--shards", 16, "Board shards of the tenant (1-256).");
        TallyCli.Require(shards, n => n <= 256, "--shards must be at most 256.");
        var batch = TallyCli.Positive("--batch", 500, "Events per request (at most 10,000).");
        TallyCli.Require(batch, b => b <= 10_000, "--batch must be at most 10000 (the API's limit per request).");
        // 8 requests of 500 new users keep a 2-core silo busy; 16 doubled each batch's wait past the API's deadline,
        // and two batches in five went twice (decision 046).
        var concurrency = TallyCli.Positive("--concurrency", 8, "Concurrent requests while loading.");
        var reads = TallyCli.Positive("--reads", 50_000, "Reads of each kind (stats with ranks, pages, around-me).");
        var readConcurrency = TallyCli.Positive("--read-concurrency", 32, "Concurrent reads.");
        var snapshotWait = TallyCli.Positive("--snapshot-wait-minutes", 30, "How long to wait for the first snapshot run after the load.");
        var noRecovery = new Option<bool>("--no-recovery") { Description = "Skip the kill -9 of the silos and the timed recovery." };
        var command = new Command("scale", "Fill a climate tenant with millions of users through the API; memory, snapshot, reads at scale and recovery from kill -9 (issue 33).")
        {
            users, weeks, shards, batch, concurrency, reads, readConcurrency, snapshotWait, noRecovery, WriteDocs,
        };
        command.Validators.Add(result =>
        {
            if ((long)result.GetValue(users) * result.GetValue(weeks) > int.MaxValue)
                result.AddError("--users times --weeks must be at most 2,147,483,647 events.");
        });
        command.SetAction((parse, _) => ScaleBench.RunAsync(new CliContext(parse), new ScaleBench.Settings(
            parse.GetValue(users), parse.GetValue(weeks), parse.GetValue(shards), RoundToWeeks(parse.GetValue(batch), parse.GetValue(weeks)), parse.GetValue(concurrency), parse.GetValue(reads),
            parse.GetValue(readConcurrency), parse.GetValue(snapshotWait), !parse.GetValue(noRecovery), parse.GetValue(WriteDocs))));
        return command;
    }

    /// <summary>A request holds its users' weeks whole: the batch rounded down to a multiple of the weeks (at least one user's).</summary>
    private static int RoundToWeeks(int batch, int weeks) => Math.Max(weeks, batch / weeks * weeks);

    private static Command Collect()
    {
        var events = TallyCli.Positive("--events", 200_000, "Raw events sent.");
        var batch = TallyCli.Positive("--batch", 500, "Raw events per request (the tracker's batch).");
        var concurrency = TallyCli.Positive("--concurrency", 8, "Concurrent requests.");
        var payload = TallyCli.Positive("--payload", 1024, "Bytes of data per raw event (about).");
        var command = new Command("collect", "POST /v1/collect with a tracking script's batches: events/s, MB/s and request latency.")
        {
            events, batch, concurrency, payload, WriteDocs,
        };
        command.SetAction((parse, _) => CollectBench.RunAsync(new CliContext(parse), new CollectBench.Settings(
            parse.GetValue(events), parse.GetValue(batch), parse.GetValue(concurrency), parse.GetValue(payload), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Ingest()
    {
        var events = TallyCli.Positive("--events", 200_000, "Events per Tally scenario and for plain COPY.");
        var naive = TallyCli.Positive("--naive-events", 40_000, "Events for the naive one-transaction-per-event baseline.");
        var batch = TallyCli.Positive("--batch", 500, "Events per HTTP request.");
        var concurrency = TallyCli.Positive("--concurrency", 16, "Concurrent HTTP requests.");
        var users = TallyCli.Positive("--users", 20_000, "Distinct users per run.");
        var runs = TallyCli.Positive("--runs", 3, "Runs; the median run is reported.");
        var onlyTally = new Option<bool>("--only-tally") { Description = "Run only the Tally scenarios and print them (profiling; no baselines)." };
        var withoutGoals = new Option<bool>("--without-goals") { Description = "Skip the scenarios with the climate profile's 3 goals (run by default beside the ones without)." };
        var command = new Command("ingest", "Plain binary COPY vs naive per-event transactions vs Tally over HTTP (first touch and steady state, without and with goals).")
        {
            events, naive, batch, concurrency, users, runs, onlyTally, withoutGoals, WriteDocs,
        };
        command.SetAction((parse, _) => IngestBench.RunAsync(new CliContext(parse), new IngestBench.Settings(
            parse.GetValue(events), parse.GetValue(naive), parse.GetValue(batch), parse.GetValue(concurrency), parse.GetValue(users),
            parse.GetValue(runs), parse.GetValue(onlyTally), parse.GetValue(WriteDocs), !parse.GetValue(withoutGoals))));
        return command;
    }

    private static Command Read()
    {
        var reads = TallyCli.Positive("--reads", 100_000, "Reads per scenario.");
        var concurrency = TallyCli.Positive("--concurrency", 32, "Concurrent requests.");
        var users = TallyCli.Positive("--users", 5_000, "Users seeded and read.");
        var runs = TallyCli.Positive("--runs", 3, "Runs; the median of each scenario is reported.");
        var command = new Command("read", "User stats with and without ranks, and leaderboard pages during ingest.")
        {
            reads, concurrency, users, runs, WriteDocs,
        };
        command.SetAction((parse, _) => ReadBench.RunAsync(new CliContext(parse), new ReadBench.Settings(
            parse.GetValue(reads), parse.GetValue(concurrency), parse.GetValue(users), parse.GetValue(runs), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Memory()
    {
        var users = TallyCli.Positive("--users", 10_000, "Users built (each from a year of daily events).");
        var members = TallyCli.Positive("--members", 200_000, "Users loaded into one board shard of the climate profile.");
        var command = new Command("memory", "Bytes of state a user grain holds for a year of daily events, and a board shard per member (in process; no cluster needed).")
        {
            users, members, WriteDocs,
        };
        command.SetAction((parse, _) => MemoryBench.RunAsync(new CliContext(parse),
            new MemoryBench.Settings(parse.GetValue(users), parse.GetValue(members), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Lifecycle()
    {
        var rows = TallyCli.Positive("--rows", 1_000_000, "Raw events of the month exported and removed.");
        var command = new Command("lifecycle", "Export, verify and retention removal of one tenant's month of raw events.") { rows, WriteDocs };
        command.SetAction((parse, _) => LifecycleBench.RunAsync(new CliContext(parse), new LifecycleBench.Settings(parse.GetValue(rows), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Jobs()
    {
        var sizes = new Option<int[]>("--sizes") { Description = "Log sizes (events of the bench tenant) at which the change is made.", DefaultValueFactory = _ => [1_000_000, 5_000_000], AllowMultipleArgumentsPerToken = true };
        TallyCli.Require(sizes, values => values.Length >= 2 && values.All(n => n > 0), "--sizes takes two or more positive whole numbers.");
        var changes = TallyCli.Positive("--changes", 400, "Events of each change, all by the same 40 users (new to the tenant at the first, untimed change).");
        var rounds = TallyCli.Positive("--rounds", 5, "Times the change is made at each size (each waits until reconciliation and the snapshot took it).");
        var warmUp = TallyCli.Positive("--warm-up", 3, "Untimed changes at each size before the timed ones (the first makes the 40 users; the first runs after a load are slower whatever the size).");
        var command = new Command("jobs", "Background runners' run times with the same change on a log of each size (cost follows changes, not the log).")
        {
            sizes, changes, rounds, warmUp, WriteDocs,
        };
        command.SetAction((parse, _) => JobsBench.RunAsync(new CliContext(parse), new JobsBench.Settings(
            parse.GetValue(sizes)!, parse.GetValue(changes), parse.GetValue(rounds), parse.GetValue(warmUp), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Soak()
    {
        var rate = TallyCli.Positive("--rate", 15_000, "Target events per second, sent on a fixed schedule (open loop).");
        var minutes = TallyCli.Positive("--minutes", 30, "How long the rate is held.");
        var batch = TallyCli.Positive("--batch", 500, "Events per request (at most 10,000).");
        TallyCli.Require(batch, b => b <= 10_000, "--batch must be at most 10000 (the API's limit per request).");
        var users = TallyCli.Positive("--users", 100_000, "Distinct users the events are spread over at random.");
        var reads = new Option<int>("--reads") { Description = "Reads per second during the soak: user stats and top-100 pages (0: none).", DefaultValueFactory = _ => 60 };
        TallyCli.Require(reads, r => r >= 0, "--reads must be 0 or more.");
        var connections = TallyCli.Positive("--connections", 64, "Most HTTP requests in flight; a request due past it is not sent (client saturated).");
        var sampleSeconds = TallyCli.Positive("--sample-seconds", 10, "Length of each sample window (one console line and CSV row).");
        var output = new Option<string?>("--out") { Description = "Directory for soak.csv and soak.png (default .tally/bench/soak-<UTC time>)." };
        var command = new Command("soak", "Holds an ingest rate with reads for many minutes and says whether it held (latency, accepted rate, memory).")
        {
            rate, minutes, batch, users, reads, connections, sampleSeconds, output, WriteDocs,
        };
        command.SetAction((parse, _) => SoakBench.RunAsync(new CliContext(parse), new SoakBench.Settings(
            parse.GetValue(rate), parse.GetValue(minutes), parse.GetValue(batch), parse.GetValue(users), parse.GetValue(reads),
            parse.GetValue(connections), parse.GetValue(sampleSeconds), parse.GetValue(output), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Webhooks()
    {
        var changes = TallyCli.Positive("--changes", 10_000, "Tier changes in the burst (each creator makes two: entered, promoted).");
        var command = new Command("webhooks", "A burst of tier changes delivered in order to a webhook receiver on loopback, while another tenant ingests.")
        {
            changes, WriteDocs,
        };
        command.SetAction((parse, _) => WebhookBench.RunAsync(new CliContext(parse), new WebhookBench.Settings(parse.GetValue(changes), parse.GetValue(WriteDocs))));
        return command;
    }

    private static Command Boards()
    {
        var sizes = new Option<int[]>("--sizes") { Description = "Rank index sizes.", DefaultValueFactory = _ => [1_000_000, 10_000_000], AllowMultipleArgumentsPerToken = true };
        TallyCli.Require(sizes, values => values.All(n => n > 0), "--sizes must be positive whole numbers.");
        var redisMembers = TallyCli.Positive("--redis-members", 1_000_000, "Sorted-set size for the Redis comparison.");
        var users = TallyCli.Positive("--users", 20_000, "Board members end to end.");
        var samples = TallyCli.Positive("--samples", 200, "Freshness samples.");
        var seconds = TallyCli.Positive("--seconds", 20, "Seconds of reads under load.");
        var concurrency = TallyCli.Positive("--concurrency", 16, "Concurrent readers.");
        var command = new Command("boards", "Rank index (in process) vs a Redis sorted set, then freshness and page latency over HTTP.")
        {
            sizes, redisMembers, users, samples, seconds, concurrency, WriteDocs,
        };
        command.SetAction((parse, _) => BoardsBench.RunAsync(new CliContext(parse), new BoardsBench.Settings(
            parse.GetValue(sizes)!, parse.GetValue(redisMembers), parse.GetValue(users), parse.GetValue(samples), parse.GetValue(seconds),
            parse.GetValue(concurrency), parse.GetValue(WriteDocs))));
        return command;
    }
}
