using System.Globalization;
using Spectre.Console;

namespace Tally.Cli.Verify;

/// <summary>
/// <c>tally verify report</c>: how each fault looked to a client, from <c>requests.csv</c> (every request of
/// the workload) and <c>faults.log</c> (<c>unix_ms label</c> per injected fault): requests that failed
/// (503 or no answer) from the fault on, the time until ingest and reads succeeded again, the slowest answer.
/// Exit code 1 if any answer was a 5xx other than 503, or took longer than <c>--max-seconds</c>.
/// </summary>
internal static class VerifyReport
{
    private sealed record Request(long At, string Kind, int Status, double LatencyMs);

    public static int Run(string directory, int maxSeconds)
    {
        var requests = File.ReadLines(Path.Combine(directory, "requests.csv")).Skip(1)
            .Select(line => line.Split(','))
            .Select(p => new Request(long.Parse(p[0], CultureInfo.InvariantCulture), p[1], int.Parse(p[2], CultureInfo.InvariantCulture), double.Parse(p[3], CultureInfo.InvariantCulture)))
            .OrderBy(r => r.At).ToList();
        var faultsPath = Path.Combine(directory, "faults.log");
        var faults = File.Exists(faultsPath)
            ? File.ReadLines(faultsPath).Where(l => l.Contains(' ')).Select(l => (At: long.Parse(l[..l.IndexOf(' ')], CultureInfo.InvariantCulture), Label: l[(l.IndexOf(' ') + 1)..])).ToList()
            : [];

        var table = new Table().AddColumn("fault").AddColumn("failed ingest").AddColumn("failed reads")
            .AddColumn("ingest ok again after").AddColumn("reads ok again after").AddColumn("slowest answer");
        for (var i = 0; i < faults.Count; i++)
        {
            var (at, label) = faults[i];
            var until = i + 1 < faults.Count ? faults[i + 1].At : long.MaxValue;
            // A request belongs to the fault whose window it finished in (latency is counted back from its end).
            var window = requests.Where(r => r.At >= at && r.At < until).ToList();
            var failedIngest = window.Count(r => r.Kind == "ingest" && r.Status != 200);
            var failedReads = window.Count(r => r.Kind == "read" && r.Status is not (200 or 404));
            table.AddRow(Markup.Escape(label), failedIngest.ToString(CultureInfo.InvariantCulture), failedReads.ToString(CultureInfo.InvariantCulture),
                Recovery(window, "ingest", at), Recovery(window, "read", at),
                window.Count == 0 ? "-" : $"{window.Max(r => r.LatencyMs) / 1000:0.0} s");
        }
        var totals = requests.GroupBy(r => (r.Kind, r.Status)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Status)
            .Select(g => $"{g.Key.Kind} {(g.Key.Status == 0 ? "no answer" : g.Key.Status.ToString(CultureInfo.InvariantCulture))}: {g.Count():N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"all requests: {string.Join(", ", totals)}");
        // Faults may answer 503 (retry) or no answer at all; any other 5xx is a bug, and so is an answer that
        // waits past the cluster's call timeout (the issue saw 30 s hangs after a silo died).
        var errors = requests.Count(r => r.Status >= 500 && r.Status != 503);
        var slow = requests.Count(r => r.LatencyMs > maxSeconds * 1000.0);
        if (errors == 0 && slow == 0) return TallyCli.Success;
        if (errors > 0) AnsiConsole.MarkupLineInterpolated($"[red]verify report: {errors} answers were 5xx other than 503[/]");
        if (slow > 0) AnsiConsole.MarkupLineInterpolated($"[red]verify report: {slow} answers took longer than {maxSeconds} s[/]");
        return TallyCli.Failed;
    }

    /// <summary>Seconds from the fault to the first success after the last failure of that kind in the window.</summary>
    private static string Recovery(List<Request> window, string kind, long faultAt)
    {
        var ofKind = window.Where(r => r.Kind == kind).ToList();
        var lastFailure = ofKind.LastOrDefault(r => r.Kind == kind && (kind == "read" ? r.Status is not (200 or 404) : r.Status != 200));
        if (lastFailure is null) return "no failure";
        var next = ofKind.FirstOrDefault(r => r.At > lastFailure.At && (kind == "read" ? r.Status is 200 or 404 : r.Status == 200));
        return next is null ? "not within the window" : $"{(next.At - faultAt) / 1000.0:0.0} s";
    }
}
