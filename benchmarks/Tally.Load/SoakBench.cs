using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Tally.Client;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench soak</c>: holds an ingest rate (open loop) and a trickle of reads for many minutes against the
/// local stack, one line and one CSV row per sample window, and says whether the rate held: latency within its limits
/// after warm-up, the accepted rate near the target, the silo's memory flat (<see cref="SoakVerdict"/>). Draws the run
/// as <c>soak.png</c>; <c>--write-docs</c> records it in docs/benchmarks.md.
/// </summary>
internal static class SoakBench
{
    internal sealed record Settings(int Rate, int Minutes, int Batch, int Users, int Reads, int Connections, int SampleSeconds, string? Out, bool WriteDocs);

    /// <summary>Each request's limit: a request still unanswered after this counts as a timeout.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var duration = TimeSpan.FromMinutes(s.Minutes);
        var window = TimeSpan.FromSeconds(s.SampleSeconds);
        var home = LocalStackProcesses.HomeOf(context.RepoRoot);
        var outDir = Path.GetFullPath(s.Out ?? Path.Combine(home, "bench", $"soak-{startedAt:yyyyMMdd'T'HHmmss'Z'}"));
        Console.WriteLine($"tally bench soak: {s.Rate:N0} events/s in requests of {s.Batch} ({(double)s.Rate / s.Batch:0.##}/s) for {s.Minutes} min, " +
                          $"{s.Users:N0} users, {s.Reads} reads/s, at most {s.Connections} requests in flight; a sample every {s.SampleSeconds} s into {outDir}");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.Connections }) { BaseAddress = new Uri(context.Url), Timeout = RequestTimeout };
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, "bench-soak-" + startedAt.ToUnixTimeSeconds(), Config());
        Directory.CreateDirectory(outDir); // only once Tally answered: an unreachable stack leaves no empty run behind
        var stack = new LocalStackProcesses(home);
        if (stack.SiloPids().Count == 0)
            Say($"[yellow]{Markup.Escape($"no running silo in {Path.Combine(home, "run")}/silo*.pid: its RSS and CPU are not recorded and RSS is not judged")}[/]");
        stack.Silos(); // the first reading only sets the start of the first window's CPU time
        var siloGc = stack.SiloGcSettings();

        var meter = new SoakMeter();
        using var ingest = TallyClient.Create(SoakLoad.ClientOptions(new Uri(context.Url), tenant.IngestKey));
        using var reads = TallyClient.Create(SoakLoad.ClientOptions(new Uri(context.Url), tenant.ReadKey));
        var load = new SoakLoad(ingest, reads, s, meter);
        var samples = new List<SoakSample>();
        using (var csv = new SoakCsv(Path.Combine(outDir, "soak.csv")))
        {
            Say(Markup.Escape(HeaderLine()));
            var clock = Stopwatch.StartNew();
            var schedules = Task.WhenAll(load.IngestAsync(clock, duration), load.ReadsAsync(clock, duration));
            // Windows end on a fixed schedule (every window, the last at the duration): a late wake-up shortens the next
            // window instead of adding a sliver of one after the load has stopped.
            var start = TimeSpan.Zero;
            var windows = (int)Math.Ceiling(duration / window);
            for (var w = 1; w <= windows; w++)
            {
                var due = w == windows ? duration : window * w;
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
                var end = clock.Elapsed;
                var (rssMb, cpuPercent) = stack.Silos();
                var sample = meter.Take(start, end, rssMb, cpuPercent, stack.PostgresMb());
                samples.Add(sample);
                csv.Write(sample, s.Rate);
                Say(Line(sample, s.Rate));
                start = end;
            }
            await schedules;
        }
        var unanswered = load.InFlight;
        await load.DrainAsync(RequestTimeout + TimeSpan.FromSeconds(5));

        var verdict = SoakVerdict.Judge(samples, s.Rate, s.Reads > 0);
        var passed = SoakVerdict.Passed(verdict);
        Console.WriteLine();
        Console.WriteLine($"totals: {samples.Sum(x => x.RequestsSent):N0} requests sent, {samples.Sum(x => x.RequestsNotSent):N0} not sent (client saturated), " +
                          $"{samples.Sum(x => x.ShedRequests):N0} shed (429/503), {samples.Sum(x => x.RetryEvents):N0} retry events ({samples.Sum(x => x.ResentEvents):N0} re-sent, " +
                          $"{load.LostRetries:N0} answered retry again), {samples.Sum(x => x.Errors):N0} errors, {samples.Sum(x => x.Timeouts):N0} timeouts; " +
                          $"{samples.Sum(x => x.Reads):N0} reads ({samples.Sum(x => x.ReadErrors):N0} failed, {samples.Sum(x => x.ReadsNotSent):N0} not sent); " +
                          $"{unanswered} requests in flight at the end (not counted)");
        if (load.Unexpected is { } bug) Say($"[red]a request failed unexpectedly (counted as an error):[/] {Markup.Escape(bug.ToString())}");
        foreach (var part in verdict)
            Say($"  {part.Passed switch { true => "[green]pass[/]", false => "[red]FAIL[/]", null => "[grey]not judged[/]" }} {Markup.Escape($"{part.Rule}: {part.Detail}")}");
        Say(passed ? "verdict: [green]the rate held[/]" : "verdict: [red]the rate did not hold[/]");

        var png = Path.Combine(outDir, "soak.png");
        string? image = null;
        try
        {
            SoakChart.Save(png, samples, s.Rate, $"tally bench soak: {s.Rate.ToString("N0", CultureInfo.InvariantCulture)} events/s for {s.Minutes} min, {startedAt:yyyy-MM-dd HH:mm} UTC");
            image = $"benchmarks/soak-{s.Rate}.png";
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException)
        {
            Say($"[yellow]{Markup.Escape($"no chart: the plotting library could not load its native part ({ex.Message})")}[/]");
        }
        Console.WriteLine($"samples: {Path.Combine(outDir, "soak.csv")}{(image is null ? "" : $"; chart: {png}")}");

        if (s.WriteDocs && image is not null)
        {
            var docsImage = Path.Combine(context.RepoRoot, "docs", image);
            Directory.CreateDirectory(Path.GetDirectoryName(docsImage)!);
            File.Copy(png, docsImage, overwrite: true);
        }
        BenchReport.Publish(context.RepoRoot, "soak", Section(s, samples, verdict, BenchReport.Machine(), startedAt, image, siloGc), s.WriteDocs);
        return passed ? TallyCli.Success : TallyCli.Failed;
    }

    /// <summary>The bench's tenant: the climate seed's measure with a few boards (global and country; all time, month,
    /// week) and rollups, so every event moves 6 boards and 6 rollups.</summary>
    public static JsonObject Config() => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0, ["max"] = 100000 } },
        ["dimensions"] = new JsonArray("country"),
        ["leaderboards"] = new JsonObject
        {
            ["measures"] = new JsonArray("co2_saved_kg"), ["scopes"] = new JsonArray("global", "country"),
            ["periods"] = new JsonArray("all_time", "month", "week"), ["snapshot_top"] = 10000,
        },
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "month", "day") },
        ["board_shards"] = 4,
    };

    public static string CommandLine(Settings s) =>
        $"tally bench soak --rate {s.Rate} --minutes {s.Minutes} --batch {s.Batch} --users {s.Users} --reads {s.Reads} --connections {s.Connections} --sample-seconds {s.SampleSeconds} --write-docs";

    /// <summary>The console line's columns: title and width (right-aligned, one space apart).</summary>
    private static readonly (string Title, int Width)[] Columns =
    [
        ("time", 5), ("accepted/s", 10), ("target", 6), ("shed", 4), ("retry", 5), ("err", 3), ("t/o", 3), ("unsent", 6),
        ("ingest p50", 10), ("p99", 5), ("max ms", 6), ("read p50", 8), ("p99 ms", 6), ("r.err", 5), ("silo MB", 7), ("cpu%", 4), ("pg MB", 6),
    ];

    private static string HeaderLine() => string.Join(' ', Columns.Select(c => c.Title.PadLeft(c.Width)));

    /// <summary>One sample as a console line (markup); a p99 over its limit after warm-up in red.</summary>
    private static string Line(SoakSample x, double target)
    {
        var inv = CultureInfo.InvariantCulture;
        string Ms(double ms) => double.IsNaN(ms) ? "-" : ms.ToString(ms < 100 ? "0.0" : "0", inv);
        string Mb(double? mb) => mb is { } v ? v.ToString("N0", inv) : "-";
        bool Over(double ms, double limit) => x.Start >= SoakVerdict.WarmUp && !(ms < limit);
        var cells = new (string Text, bool Red)[]
        {
            (SoakVerdict.Clock(x.End), false), (x.AcceptedPerSecond.ToString("N0", inv), false), ((x.AcceptedPerSecond / target).ToString("0.0%", inv), false),
            (x.ShedRequests.ToString(inv), false), (x.RetryEvents.ToString(inv), false), (x.Errors.ToString(inv), false), (x.Timeouts.ToString(inv), false),
            (x.RequestsNotSent.ToString(inv), false), (Ms(x.IngestP50Ms), false), (Ms(x.IngestP99Ms), Over(x.IngestP99Ms, SoakVerdict.IngestP99LimitMs)),
            (Ms(x.IngestMaxMs), false), (Ms(x.ReadP50Ms), false), (Ms(x.ReadP99Ms), Over(x.ReadP99Ms, SoakVerdict.ReadP99LimitMs)),
            ((x.ReadErrors + x.ReadsNotSent).ToString(inv), false), (Mb(x.SiloRssMb), false), (x.SiloCpuPercent is { } cpu ? cpu.ToString("0", inv) : "-", false),
            (Mb(x.PostgresMb), false),
        };
        var line = string.Join(' ', cells.Zip(Columns, (cell, column) =>
        {
            var text = Markup.Escape(cell.Text.PadLeft(column.Width));
            return cell.Red ? $"[red]{text}[/]" : text;
        }));
        return x.Start < SoakVerdict.WarmUp ? line + " [grey](warm-up)[/]" : line;
    }

    /// <summary>Spectre wraps at the console's width, which is 80 when output goes to a file or a pipe: there a line is
    /// written whole, without colours.</summary>
    private static void Say(string markup)
    {
        if (Console.IsOutputRedirected) Console.WriteLine(Markup.Remove(markup));
        else AnsiConsole.MarkupLine(markup);
    }

    /// <summary>", the silo started with `A=1` and `B=2`" for the silos' GC settings, or nothing when none was set.</summary>
    internal static string SiloStartedWith(IReadOnlyList<string>? siloGc) =>
        siloGc is { Count: > 0 } ? ", the silo started with " + string.Join(" and ", siloGc.Select(v => $"`{v}`")) : "";

    /// <summary>The section of docs/benchmarks.md for this run.</summary>
    public static string Section(Settings s, IReadOnlyList<SoakSample> samples, IReadOnlyList<SoakVerdictPart> verdict, string machine, DateTimeOffset date, string? image,
        IReadOnlyList<string>? siloGc = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var steady = samples.Where(x => x.Start >= SoakVerdict.WarmUp).ToList();
        static string Median(List<double> values) => values.Count == 0 ? "-" : values.Order().ElementAt(values.Count / 2).ToString("0.0", CultureInfo.InvariantCulture);
        static string Worst(List<double> values) => values.Count == 0 ? "-" : values.Max().ToString("0.0", CultureInfo.InvariantCulture);
        List<double> Finite(Func<SoakSample, double> pick) => steady.Select(pick).Where(double.IsFinite).ToList();
        string Mb(double? mb) => mb is { } v ? v.ToString("N0", inv) : "-";
        var (ingestP99, readP99) = (Finite(x => x.IngestP99Ms), Finite(x => x.ReadP99Ms));
        var achieved = SoakVerdict.AcceptedPerSecond(steady);
        var lowest = steady.Count == 0 ? 0 : steady.Min(x => x.AcceptedPerSecond);
        var (first, last) = (samples.FirstOrDefault(), samples.LastOrDefault());

        var body = new StringBuilder()
            .AppendLine(inv, $"## Soak: a held rate for {s.Minutes} minutes")
            .AppendLine()
            .AppendLine(inv, $"Command: `{CommandLine(s)}` against `deploy/local/up`{SiloStartedWith(siloGc)}.  ")
            .AppendLine(inv, $"Date: {date:yyyy-MM-dd HH:mm} UTC. Machine: {machine}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"A tenant of its own (`bench-soak-<unix time>`: 6 leaderboards, global and country × all_time, month, week; 6 rollups). Open loop: a request of {s.Batch} events leaves every {1000.0 * s.Batch / s.Rate:0.#} ms whatever the answers (one due while {s.Connections} are in flight is not sent, and counted), events of {s.Users:N0} users dated now, each with a key of its own; events answered `retry` are sent once more with the same key in a later request, 429/503 answers are counted as shed and nothing is re-sent. Meanwhile {s.Reads} reads/s, half a user's stats and half a top-100 page. Each figure below is per {s.SampleSeconds}-second sample; the first minute is warm-up.")
            .AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("| --- | ---: |")
            .AppendLine(inv, $"| target events/s | {s.Rate:N0} |")
            .AppendLine(inv, $"| accepted events/s after warm-up: mean (lowest sample) | {achieved:N0} ({lowest:N0}) = {achieved / s.Rate:0.0%} of the target |")
            .AppendLine(inv, $"| ingest p99 ms, request of {s.Batch}: median sample (worst) | {Median(ingestP99)} ({Worst(ingestP99)}) |")
            .AppendLine(inv, $"| read p99 ms: median sample (worst) | {Median(readP99)} ({Worst(readP99)}) |")
            .AppendLine(inv, $"| requests shed (429/503) / not sent (client saturated) / errors / timeouts | {samples.Sum(x => x.ShedRequests):N0} / {samples.Sum(x => x.RequestsNotSent):N0} / {samples.Sum(x => x.Errors):N0} / {samples.Sum(x => x.Timeouts):N0} |")
            .AppendLine(inv, $"| events answered `retry` (re-sent) | {samples.Sum(x => x.RetryEvents):N0} ({samples.Sum(x => x.ResentEvents):N0}) |")
            .AppendLine(inv, $"| silo RSS MB: first sample → last | {Mb(first?.SiloRssMb)} → {Mb(last?.SiloRssMb)} |")
            .AppendLine(inv, $"| PostgreSQL MB (PSS of all its processes): first sample → last | {Mb(first?.PostgresMb)} → {Mb(last?.PostgresMb)} |")
            .AppendLine()
            .AppendLine(inv, $"Verdict: **{(SoakVerdict.Passed(verdict) ? "the rate held" : "the rate did not hold")}**.")
            .AppendLine();
        foreach (var part in verdict)
            body.AppendLine(inv, $"- {part.Rule}: {(part.Passed switch { true => "passed", false => "**failed**", null => "not judged" })} ({part.Detail})");
        if (image is not null)
            body.AppendLine().AppendLine(inv, $"![Soak at {s.Rate:N0} events/s: accepted rate, p99 latencies, memory]({image})");
        return body.ToString();
    }
}
