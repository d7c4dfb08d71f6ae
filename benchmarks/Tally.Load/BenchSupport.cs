using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Tally.Cli.Bench;

/// <summary>Latencies of one scenario, for percentiles.</summary>
internal sealed class LatencyRecorder
{
    private readonly List<double> _ms = new();
    private readonly Lock _gate = new();

    public void Record(TimeSpan elapsed)
    {
        lock (_gate) _ms.Add(elapsed.TotalMilliseconds);
    }

    public int Count
    {
        get { lock (_gate) return _ms.Count; }
    }

    public double Percentile(double p)
    {
        lock (_gate)
        {
            if (_ms.Count == 0) return 0;
            _ms.Sort();
            return _ms[Math.Clamp((int)Math.Ceiling(p / 100 * _ms.Count) - 1, 0, _ms.Count - 1)];
        }
    }
}

internal sealed record BenchRow(string Scenario, long Events, TimeSpan Elapsed, double P50Ms, double P99Ms, string LatencyOf)
{
    public double PerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>Progress of long work: a bar on a terminal, a line every few seconds in a log.</summary>
internal static class Progress
{
    public static async Task Track(string label, Func<long> done, long total, Task work)
    {
        var sw = Stopwatch.StartNew();
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(label, maxValue: Math.Max(total, 1));
                    while (!work.IsCompleted)
                    {
                        await Task.WhenAny(work, Task.Delay(200));
                        task.Value = total > 0 ? done() : Math.Min(sw.Elapsed.TotalSeconds, task.MaxValue);
                    }
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            var next = TimeSpan.FromSeconds(5);
            while (!work.IsCompleted)
            {
                await Task.WhenAny(work, Task.Delay(250));
                if (sw.Elapsed < next && !work.IsCompleted) continue;
                next = sw.Elapsed + TimeSpan.FromSeconds(5);
                var n = done();
                Console.WriteLine(total > 0
                    ? $"  {label}: {n:N0}/{total:N0} ({n / Math.Max(sw.Elapsed.TotalSeconds, 0.001):N0}/s)"
                    : $"  {label}: {n:N0} ({n / Math.Max(sw.Elapsed.TotalSeconds, 0.001):N0}/s)");
            }
        }
        await work;
    }
}

internal static class BenchReport
{
    public static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
            : "unknown";
        var memKb = File.Exists("/proc/meminfo")
            ? long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)
            : 0;
        return $"{Environment.ProcessorCount} cores ({cpu}), {memKb / 1024 / 1024.0:0.#} GiB RAM, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }

    public static string Table(IReadOnlyList<BenchRow> rows, string unit)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"| scenario | {unit} | {unit}/s | p50 ms | p99 ms | latency of |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in rows)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.Events:N0} | {r.PerSecond:N0} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {r.LatencyOf} |");
        return sb.ToString();
    }

    /// <summary>Prints the section, and writes it into docs/benchmarks.md only when asked (<c>--write-docs</c>).</summary>
    public static void Publish(string repoRoot, string section, string body, bool writeDocs)
    {
        Console.WriteLine();
        Console.WriteLine(body);
        if (!writeDocs)
        {
            AnsiConsole.MarkupLine("[grey]docs/benchmarks.md left as is (pass --write-docs to record these figures).[/]");
            return;
        }
        var path = Path.Combine(repoRoot, "docs", "benchmarks.md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\nEvery figure here is written by the `tally bench` command named in its section; rerun it to refresh.\n";
        var begin = $"<!-- bench:{section} -->";
        var end = $"<!-- /bench:{section} -->";
        var block = $"{begin}\n{body.TrimEnd()}\n{end}";
        var i = text.IndexOf(begin, StringComparison.Ordinal);
        var j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i ? text[..i] + block + text[(j + end.Length)..] : text.TrimEnd() + "\n\n" + block + "\n";
        File.WriteAllText(path, text);
        AnsiConsole.MarkupLineInterpolated($"written to {path}");
    }
}

/// <summary>
/// A tenant of the bench's own, created (or updated) through the API with the cluster admin key, so a
/// bench never writes into the demo tenant. Its keys are made per run.
/// </summary>
internal sealed record BenchTenant(string Id, string IngestKey, string ReadKey)
{
    /// <summary>The climate seed's shape: 12 leaderboards (co2 × global/country/org × all_time/year/month/week) and 16 rollups.</summary>
    public static JsonObject ClimateConfig(int shards = 4) => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0, ["max"] = 100000 } },
        ["dimensions"] = new JsonArray("country", "org"),
        ["leaderboards"] = new JsonObject
        {
            ["measures"] = new JsonArray("co2_saved_kg"), ["scopes"] = new JsonArray("global", "country", "org"),
            ["periods"] = new JsonArray("all_time", "year", "month", "week"), ["snapshot_top"] = 10000,
        },
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "year", "month", "day") },
        ["board_shards"] = shards,
    };

    /// <summary>The climate shape with the climate profile's goals (deploy/profiles/climate.json): 3 goals on every event.</summary>
    public static JsonObject ClimateWithGoalsConfig(int shards = 4)
    {
        var config = ClimateConfig(shards);
        config["goals"] = Profiles.SeedProfiles.Get("climate").Config()["goals"]!.DeepClone();
        return config;
    }

    /// <summary>The same measure without boards or rollups: reads without ranks.</summary>
    public static JsonObject PlainConfig() => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0, ["max"] = 100000 } },
        ["dimensions"] = new JsonArray("country", "org"),
    };

    public static async Task<BenchTenant> EnsureAsync(HttpClient http, string adminKey, string id, JsonObject config)
    {
        var admin = new Loading.TenantAdmin(http, adminKey);
        await admin.PutConfigAsync(id, config);
        var (_, ingest) = await admin.MintKeyAsync(id, "ingest");
        var (_, read) = await admin.MintKeyAsync(id, "read");
        return new BenchTenant(id, ingest, read);
    }
}

internal static class Api
{
    /// <summary>One request; a non-2xx answer is a <see cref="CliException"/> with the body.</summary>
    public static async Task<string> SendAsync(HttpClient http, HttpMethod method, string path, string key, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new CliException($"{method} {path} failed: {(int)response.StatusCode} {text}");
        return text;
    }
}
