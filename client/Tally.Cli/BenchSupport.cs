using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tally.Cli;

/// <summary>Latency recording, progress output and the benchmarks.md writer shared by the bench commands.</summary>
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

internal static class Progress
{
    /// <summary>Prints "label: done/total (rate/s)" on one line, at most every 500 ms, until the work completes.</summary>
    public static async Task Track(string label, Func<long> done, long total, Task work)
    {
        var sw = Stopwatch.StartNew();
        while (!work.IsCompleted)
        {
            await Task.WhenAny(work, Task.Delay(500));
            var n = done();
            Console.Write($"\r  {label}: {n:N0}/{total:N0} ({n / Math.Max(sw.Elapsed.TotalSeconds, 0.001):N0}/s)   ");
        }
        Console.WriteLine();
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

    /// <summary>Replaces this bench's section of docs/benchmarks.md, leaving other sections alone.</summary>
    public static string Write(string repoRoot, string section, string body)
    {
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
        return path;
    }
}
