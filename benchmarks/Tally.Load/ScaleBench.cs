using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Tally.Client;
using Tally.Postgres.Jobs;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench scale</c> (issue 33): a tenant of the climate profile filled with <c>--users</c> users through the API,
/// one event each this month, then what the silo holds (RSS, bytes per member per board, the shards' cells), the first
/// snapshot run, reads at 32 concurrent, and, on a local stack, a <c>kill -9</c> of the silos and the time until every
/// probed page and around-me answers exactly as before (503 + Retry-After in between, never a wrong answer).
/// </summary>
internal static class ScaleBench
{
    internal sealed record Settings(int Users, int Weeks, int Shards, int Batch, int Concurrency, int Reads, int ReadConcurrency, int SnapshotWaitMinutes, bool Recovery,
        bool WriteDocs);

    private static readonly string[] Countries = ["DE", "US", "FR", "GB", "JP", "BR", "IN", "NG"];
    private static readonly string[] Periods = ["all_time", "year", "month", "week"];
    private const string Prefix = "scale";

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        Console.WriteLine($"tally bench scale: {s.Users:N0} users of the climate profile, {EventsEach(s)}, {s.Shards} board shards; " +
                          $"batches of {s.Batch}, {s.Concurrency} concurrent; reads {s.ReadConcurrency} concurrent; recovery {(s.Recovery ? "on" : "off")}");
        var home = LocalStackProcesses.HomeOf(context.RepoRoot);
        var processes = new LocalStackProcesses(home);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(s.ReadConcurrency, s.Concurrency) * 2 })
        {
            BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(60),
        };
        await using var db = NpgsqlDataSource.Create(context.Postgres);
        var run = Guid.NewGuid().ToString("N")[..6];
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, $"scale-{run}", BenchTenant.ClimateConfig(s.Shards));
        Console.WriteLine($"tenant {tenant.Id}");
        var rssBefore = processes.Silos().RssMb;
        var siloSettings = processes.SiloSettings("DOTNET_GC", "Tally__UserGrain__", "Tally__Boards__");

        // 1. Every user's events through the API, users in order, so each batch is new users (first touch throughout) and
        //    holds each of its users' weeks whole. A batch may go many times while the silo is saturated: one left
        //    unacknowledged would end an hour's run.
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var load = await IngestBench.TallyHttp(context.Url, tenant.IngestKey, s.Users * s.Weeks, s.Batch, s.Concurrency, s.Users, Prefix, "load",
            everyUserOnce: true, at: at, weeks: s.Weeks, maxAttempts: 50);
        Console.WriteLine($"  loaded {load.Events:N0} events in {load.Elapsed.TotalSeconds:N0} s: {load.PerSecond:N0} events/s (p99 {load.P99Ms:N0} ms a batch)");

        // 2. Until the global board holds every user: the boards have taken every event.
        var loadedAt = DateTimeOffset.UtcNow;
        var settle = Stopwatch.StartNew();
        while (await MembersAsync(http, tenant.ReadKey, "global", "all_time") < s.Users)
        {
            if (settle.Elapsed > TimeSpan.FromMinutes(10)) throw new CliException("the global board did not reach every user within 10 minutes of the load");
            await Task.Delay(500);
        }
        var settled = settle.Elapsed;
        Console.WriteLine($"  boards hold every user {settled.TotalSeconds:N1} s after the last acknowledgement");

        // 3. What the silos hold.
        var shards = await ShardsAsync(http, context.AdminKey, tenant.Id);
        var rssAfter = processes.Silos().RssMb;
        var cells = shards.Sum(x => x.Cells);
        Console.WriteLine($"  shards: {cells:N0} cells over {shards.Count} shards on {shards.Select(x => x.Silo).Distinct().Count()} silo(s); silo RSS {rssBefore:N0} → {rssAfter:N0} MB");

        // 4. The first snapshot run that took this load.
        var snapshot = await FirstSnapshotAfterAsync(db, loadedAt, TimeSpan.FromMinutes(s.SnapshotWaitMinutes));
        Console.WriteLine(snapshot is { } sn ? $"  snapshot run: {sn.Duration.TotalSeconds:N1} s, work {sn.Work:N0}" : $"  snapshot run: none finished within {s.SnapshotWaitMinutes} minutes");

        // 5. Reads at scale.
        var readSettings = new ReadBench.Settings(s.Reads, s.ReadConcurrency, s.Users, 1, false);
        await ReadBench.ReadsAsync(http, tenant.ReadKey, readSettings with { Reads = Math.Min(s.Reads, 5_000) }, "warm-up", StatsPath(s.Users));
        var stats = await ReadBench.ReadsAsync(http, tenant.ReadKey, readSettings, $"GET /v1/users/{{id}}/stats with ranks (12 boards), {s.ReadConcurrency} concurrent", StatsPath(s.Users));
        var pages = await ReadBench.ReadsAsync(http, tenant.ReadKey, readSettings, $"GET top-100 page of one of the 12 boards, {s.ReadConcurrency} concurrent", PagePath);
        var around = await ReadBench.ReadsAsync(http, tenant.ReadKey, readSettings, $"GET around-me (around=5) on one of the 12 boards, {s.ReadConcurrency} concurrent",
            r => AroundPath(r, s.Users));

        // 6. Recovery from kill -9.
        Recovery? recovery = null;
        string? recoveryFailure = null;
        if (s.Recovery)
        {
            var silos = SiloProcess.Find(processes, home);
            if (silos.Count == 0) Console.WriteLine("  recovery: no silo of deploy/local/up found (.tally/run/silo*.pid); skipped");
            else
                try
                {
                    recovery = await RecoverAsync(http, tenant, silos, s.Users, home);
                }
                catch (CliException ex)
                {
                    // The figures before it still stand; the report says recovery did not finish, and the command fails.
                    recoveryFailure = ex.Message;
                    Console.WriteLine($"  recovery: {ex.Message}");
                }
        }

        var body = Report(s, siloSettings, load, settled, shards, cells, rssBefore, rssAfter, snapshot, stats, pages, around, recovery, recoveryFailure);
        BenchReport.Publish(context.RepoRoot, s.Weeks == 1 ? "scale" : "scale-year", body, s.WriteDocs);
        return recoveryFailure is null ? TallyCli.Success : TallyCli.Failed;
    }

    private static string EventsEach(Settings s) =>
        s.Weeks == 1 ? "one event each this month" : $"an event a week for {s.Weeks} weeks each (the last this month; a request holds its users' weeks whole)";

    private static Func<Random, string> StatsPath(int users) => r => $"/v1/users/{Prefix}-{r.Next(users)}/stats";

    private static string Scope(Random r) => r.Next(3) switch
    {
        0 => "global",
        1 => $"country:{Countries[r.Next(Countries.Length)]}",
        _ => $"org:org-{r.Next(50)}",
    };

    private static string PagePath(Random r) => $"/v1/leaderboards/co2_saved_kg?scope={Scope(r)}&period={Periods[r.Next(Periods.Length)]}&limit=100";

    // The user's own scope: a user's country and org follow from its number (IngestBench.BuildEvents).
    private static string AroundPath(Random r, int users)
    {
        var user = r.Next(users);
        var scope = r.Next(3) switch
        {
            0 => "global",
            1 => $"country:{Countries[user % Countries.Length]}",
            _ => $"org:org-{user % 50}",
        };
        return $"/v1/leaderboards/co2_saved_kg/users/{Prefix}-{user}?scope={scope}&period={Periods[r.Next(Periods.Length)]}&around=5";
    }

    private static async Task<long> MembersAsync(HttpClient http, string key, string scope, string period)
    {
        var page = JsonNode.Parse(await Api.SendAsync(http, HttpMethod.Get, $"/v1/leaderboards/co2_saved_kg?scope={scope}&period={period}&limit=1", key, null))!;
        return page["members"]!.GetValue<long>();
    }

    private sealed record Shard(int Number, string Silo, long Members, long Boards, long Cells);

    private static async Task<List<Shard>> ShardsAsync(HttpClient http, string adminKey, string tenant)
    {
        var body = JsonNode.Parse(await Api.SendAsync(http, HttpMethod.Get, $"/v1/tenants/{tenant}/shards", adminKey, null))!;
        return body["shards"]!.AsArray()
            .Where(x => x!["active"]!.GetValue<bool>())
            .Select(x => new Shard(x!["shard"]!.GetValue<int>(), x["silo"]!.GetValue<string>(), x["members"]!.GetValue<long>(), x["boards"]!.GetValue<long>(),
                x["cells"]!.GetValue<long>()))
            .ToList();
    }

    private static async Task<RunnerRun?> FirstSnapshotAfterAsync(NpgsqlDataSource db, DateTimeOffset after, TimeSpan limit)
    {
        var ledger = new JobLedger(db);
        var watch = Stopwatch.StartNew();
        Console.WriteLine("  waiting for the first snapshot run that starts after the load");
        while (watch.Elapsed < limit)
        {
            foreach (var r in await ledger.ReadRunsAsync(CancellationToken.None))
                if (r.Runner == "snapshot" && r.StartedAt > after && r.Work > 0)
                    return r;
            await Task.Delay(1000);
        }
        return null;
    }

    /// <summary>A silo process of <c>deploy/local/up</c>: its pid file and how it was started, to start it again the same way.</summary>
    private sealed record SiloProcess(string PidFile, int Pid, string[] CommandLine, Dictionary<string, string> Environment, string WorkingDirectory)
    {
        public static List<SiloProcess> Find(LocalStackProcesses stack, string home)
        {
            var found = new List<SiloProcess>();
            foreach (var (file, pid) in stack.SiloPidFiles())
            {
                var command = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
                var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
                    .Select(e => e.Split('=', 2)).Where(e => e.Length == 2).GroupBy(e => e[0]).ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
                found.Add(new SiloProcess(file, pid, command, environment, new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(false)?.FullName ?? home));
            }
            return found;
        }

        /// <summary>Starts the silo again as it was started, its output appended to a log of its own, and writes the new pid.</summary>
        public void Restart(string logDirectory)
        {
            var log = Path.Combine(logDirectory, $"{Path.GetFileNameWithoutExtension(PidFile)}-restarted.log");
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = WorkingDirectory };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec \"$@\" >> \"$TALLY_BENCH_LOG\" 2>&1 < /dev/null");
            start.ArgumentList.Add("sh");
            foreach (var arg in CommandLine) start.ArgumentList.Add(arg);
            start.Environment.Clear();
            foreach (var (name, value) in Environment) start.Environment[name] = value;
            start.Environment["TALLY_BENCH_LOG"] = log;
            using var process = Process.Start(start) ?? throw new CliException("could not start the silo again");
            File.WriteAllText(PidFile, process.Id.ToString(CultureInfo.InvariantCulture) + "\n");
        }
    }

    private sealed record Recovery(int Silos, double FirstAnswerS, double ExactS, double IngestS, long Unavailable, long UnavailableWithoutRetryAfter, long Wrong,
        int Probes);

    /// <summary>
    /// Kills every silo (SIGKILL, as a crash), starts each again as it was started, and asks a fixed set of pages and
    /// around-me reads until every one answers exactly as before the kill; counts what came back in between.
    /// </summary>
    private static async Task<Recovery> RecoverAsync(HttpClient http, BenchTenant tenant, List<SiloProcess> silos, int users, string home)
    {
        var random = new Random(33);
        var probes = new List<string>();
        foreach (var period in Periods)
        {
            probes.Add($"/v1/leaderboards/co2_saved_kg?scope=global&period={period}&limit=100");
            probes.Add($"/v1/leaderboards/co2_saved_kg?scope=country:{Countries[random.Next(Countries.Length)]}&period={period}&limit=100");
            probes.Add($"/v1/leaderboards/co2_saved_kg?scope=org:org-{random.Next(50)}&period={period}&limit=100");
        }
        for (var i = 0; i < 12; i++) probes.Add(AroundPath(random, users));
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var probe in probes) expected[probe] = await Api.SendAsync(http, HttpMethod.Get, probe, tenant.ReadKey, null);

        Console.WriteLine($"  recovery: kill -9 of {silos.Count} silo(s), started again at once; {probes.Count} pages and around-me reads probed until exact");
        var killed = Stopwatch.StartNew();
        foreach (var silo in silos)
            try
            {
                Process.GetProcessById(silo.Pid).Kill();
            }
            catch (ArgumentException)
            {
                // already gone
            }
        foreach (var silo in silos)
            while (Directory.Exists($"/proc/{silo.Pid}") && killed.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        foreach (var silo in silos) silo.Restart(Path.Combine(home, "logs"));

        double firstAnswer = -1;
        long unavailable = 0, withoutRetryAfter = 0, wrong = 0;
        var exact = new HashSet<string>(StringComparer.Ordinal);
        using var probeHttp = new HttpClient { BaseAddress = http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        while (exact.Count < probes.Count)
        {
            if (killed.Elapsed > TimeSpan.FromMinutes(15)) throw new CliException($"only {exact.Count} of {probes.Count} probes answered exactly within 15 minutes of the kill");
            foreach (var probe in probes)
            {
                if (exact.Contains(probe)) continue;
                using var request = new HttpRequestMessage(HttpMethod.Get, probe);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ReadKey);
                HttpResponseMessage response;
                try
                {
                    response = await probeHttp.SendAsync(request);
                }
                catch (HttpRequestException)
                {
                    continue; // not listening yet
                }
                catch (TaskCanceledException)
                {
                    continue;
                }
                using (response)
                {
                    if (firstAnswer < 0) firstAnswer = killed.Elapsed.TotalSeconds;
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        if (text == expected[probe]) exact.Add(probe);
                        else wrong++;
                    }
                    else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                    {
                        unavailable++;
                        if (response.Headers.RetryAfter is null) withoutRetryAfter++;
                    }
                    else throw new CliException($"GET {probe} answered {(int)response.StatusCode} while the silo recovered: {text}");
                }
            }
            if (exact.Count < probes.Count) await Task.Delay(100);
        }
        var exactAt = killed.Elapsed.TotalSeconds;
        // Ingest accepted again: one new user's event, until it is acknowledged.
        using var client = TallyClient.Create(new TallyClientOptions { BaseAddress = http.BaseAddress!, ApiKey = tenant.IngestKey, MaxAttempts = 50 });
        var ingest = await client.IngestAsync(IngestBench.BuildEvents("after-kill", Prefix, 0, 1, users + 1, new Random(1), users));
        if (ingest.Accepted != 1) throw new CliException("an event after the recovery was not accepted");
        var ingestAt = killed.Elapsed.TotalSeconds;
        Console.WriteLine($"  recovery: first answer {firstAnswer:N1} s, every probe exact {exactAt:N1} s, an event accepted {ingestAt:N1} s after the kill; " +
                          $"{unavailable} answers 503 ({withoutRetryAfter} without Retry-After), {wrong} answers 200 and different");
        return new Recovery(silos.Count, firstAnswer, exactAt, ingestAt, unavailable, withoutRetryAfter, wrong, probes.Count);
    }

    private static string Report(Settings s, IReadOnlyList<string> siloSettings, BenchRow load, TimeSpan settle, List<Shard> shards, long cells, double? rssBefore, double? rssAfter,
        RunnerRun? snapshot, BenchRow stats, BenchRow pages, BenchRow around, Recovery? recovery, string? recoveryFailure)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(s.Weeks == 1 ? "## Scale: millions of users" : "## Scale: a year of weekly activity")
            .AppendLine()
            .AppendLine(string.Create(inv, $"Command: `tally bench scale --users {s.Users}{(s.Weeks == 1 ? "" : $" --weeks {s.Weeks}")} --shards {s.Shards} --batch {s.Batch} --concurrency {s.Concurrency} --reads {s.Reads} --snapshot-wait-minutes {s.SnapshotWaitMinutes}{(s.Recovery ? "" : " --no-recovery")} --write-docs` against `deploy/local/up`") +
                        (siloSettings.Count == 0 ? ".  " : $", the silo started with {string.Join(", ", siloSettings.Select(x => $"`{x}`"))}.  "))
            .AppendLine(inv, $"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"A new tenant of the climate profile (12 leaderboards: global, country, org × all time, year, month, week; 16 rollups; 8 countries, 50 orgs) with {s.Shards} board shards, filled through the API: {s.Users:N0} users, {EventsEach(s)}, batches of {s.Batch} from {s.Concurrency} concurrent requests, users in order (every user's first request). Reads are {s.Reads:N0} of each kind at {s.ReadConcurrency} concurrent, over random users and boards.")
            .AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("| --- | ---: |")
            .AppendLine(inv, $"| load through the API | {load.PerSecond:N0} events/s ({load.Elapsed.TotalSeconds:N0} s; a batch p50 {load.P50Ms:N0} ms, p99 {load.P99Ms:N0} ms) |")
            .AppendLine(inv, $"| boards hold every user, after the last acknowledgement | {settle.TotalSeconds:N1} s |")
            .AppendLine(inv, $"| cells held (members on boards and rollups), shards, silos | {cells:N0}, {shards.Count}, {shards.Select(x => x.Silo).Distinct().Count()} |");
        if (rssBefore is { } before && rssAfter is { } after)
            sb.AppendLine(inv, $"| silo RSS before → after the load | {before / 1024:N2} → {after / 1024:N2} GiB |")
              .AppendLine(inv, $"| silo RSS growth per member per board (cell), all in: boards, user grains still active, runtime | {(after - before) * 1024 * 1024 / Math.Max(1, cells):N0} bytes |");
        sb.AppendLine(inv, $"| first snapshot run after the load, paced (`SnapshotDutyPercent`: working about a quarter of it) | {(snapshot is { } sn ? $"{sn.Duration.TotalSeconds:N1} s ({sn.Work:N0} rows)" : $"none within {s.SnapshotWaitMinutes} minutes")} |")
            .AppendLine(inv, $"| stats with ranks (12 boards): p50 / p99 | {stats.P50Ms:N1} / {stats.P99Ms:N1} ms ({stats.PerSecond:N0}/s) |")
            .AppendLine(inv, $"| top-100 page: p50 / p99 | {pages.P50Ms:N1} / {pages.P99Ms:N1} ms ({pages.PerSecond:N0}/s) |")
            .AppendLine(inv, $"| around-me (around=5): p50 / p99 | {around.P50Ms:N1} / {around.P99Ms:N1} ms ({around.PerSecond:N0}/s) |");
        if (recovery is { } r)
            sb.AppendLine(inv, $"| after `kill -9` of {r.Silos} silo(s), started again at once: first answer | {r.FirstAnswerS:N1} s |")
              .AppendLine(inv, $"| … every one of {r.Probes} pages and around-me reads exactly as before | {r.ExactS:N1} s |")
              .AppendLine(inv, $"| … an event accepted | {r.IngestS:N1} s |")
              .AppendLine(inv, $"| … answers in between: 503 (of them without Retry-After) / 200 and different | {r.Unavailable:N0} ({r.UnavailableWithoutRetryAfter:N0}) / {r.Wrong:N0} |");
        if (recoveryFailure is not null)
            sb.AppendLine(inv, $"| after `kill -9` of the silos, started again at once | **did not recover**: {recoveryFailure} |");
        return sb.ToString();
    }
}
