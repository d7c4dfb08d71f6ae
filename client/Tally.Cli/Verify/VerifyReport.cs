using System.Globalization;
using Spectre.Console;

namespace Tally.Cli.Verify;

/// <summary>
/// <c>tally verify report</c>: how each fault looked to a client, from <c>requests.csv</c> (every request of
/// the workload) and <c>faults.log</c> (<c>unix_ms label</c> per injected fault): requests that failed
/// (503 or no answer) and those answered 200 with events to retry, from the fault on, the time until ingest
/// and reads succeeded again, the slowest answer. Exit code 1 if any answer was a 5xx other than 503, or took
/// longer than <c>--max-seconds</c>. With <c>--bounds</c>, also every fault of <c>fault-windows.csv</c> against
/// its recovery bounds (<see cref="VerifyBounds"/>).
/// </summary>
internal static class VerifyReport
{
    internal sealed record Settings(string Directory, int MaxSeconds, RecoveryBounds? Bounds);

    public static int Run(Settings s)
    {
        // Into a log (the fault and overload scripts), 80 columns would fold every label over several lines.
        if (Console.IsOutputRedirected && AnsiConsole.Profile.Width < 160) AnsiConsole.Profile.Width = 160;
        var requests = VerifyRequest.ReadCsv(Path.Combine(s.Directory, "requests.csv"));
        var faultsPath = Path.Combine(s.Directory, "faults.log");
        var faults = File.Exists(faultsPath)
            ? File.ReadLines(faultsPath).Where(l => l.Contains(' ')).Select(l => (At: long.Parse(l[..l.IndexOf(' ')], CultureInfo.InvariantCulture), Label: l[(l.IndexOf(' ') + 1)..])).ToList()
            : [];

        var table = new Table().AddColumn("fault").AddColumn("failed ingest").AddColumn("ingest 200 with retry (events)").AddColumn("failed reads")
            .AddColumn("ingest ok again after").AddColumn("reads ok again after").AddColumn("slowest answer");
        for (var i = 0; i < faults.Count; i++)
        {
            var (at, label) = faults[i];
            var until = i + 1 < faults.Count ? faults[i + 1].At : long.MaxValue;
            // A request belongs to the fault whose window it finished in (latency is counted back from its end).
            var window = requests.Where(r => r.At >= at && r.At < until).ToList();
            var failedIngest = window.Count(r => r.IsIngest && r.Status != 200);
            var withRetry = window.Where(r => r.IsIngest && r.Status == 200 && r.Retry > 0).ToList();
            var failedReads = window.Count(r => r.Kind == "read" && r.Status is not (200 or 404));
            table.AddRow(Markup.Escape(label), Count(failedIngest), $"{Count(withRetry.Count)} ({Count(withRetry.Sum(r => r.Retry))})", Count(failedReads),
                Recovery(window, "ingest", at), Recovery(window, "read", at),
                window.Count == 0 ? "-" : $"{window.Max(r => r.LatencyMs) / 1000:0.0} s");
        }
        var totals = requests.GroupBy(r => (r.Kind, r.Status, WithRetry: r.Retry > 0)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Status).ThenBy(g => g.Key.WithRetry)
            .Select(g => $"{g.Key.Kind} {(g.Key.Status == 0 ? "no answer" : g.Key.Status.ToString(CultureInfo.InvariantCulture))}{(g.Key.WithRetry ? " with retry" : "")}: {g.Count():N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"all requests: {string.Join(", ", totals)}; events answered retry: {requests.Sum(r => (long)r.Retry):N0}");
        // Faults may answer 503 (retry) or no answer at all; any other 5xx is a bug, and so is an answer that
        // waits past the cluster's call timeout (the issue saw 30 s hangs after a silo died).
        var errors = requests.Count(r => r.Status >= 500 && r.Status != 503);
        var slow = requests.Count(r => r.LatencyMs > s.MaxSeconds * 1000.0);
        var failed = errors > 0 || slow > 0;
        if (errors > 0) AnsiConsole.MarkupLineInterpolated($"[red]verify report: {errors} answers were 5xx other than 503[/]");
        if (slow > 0) AnsiConsole.MarkupLineInterpolated($"[red]verify report: {slow} answers took longer than {s.MaxSeconds} s[/]");
        if (s.Bounds is { } bounds && !CheckBounds(s.Directory, requests, bounds)) failed = true;
        return failed ? TallyCli.Failed : TallyCli.Success;
    }

    private static bool CheckBounds(string directory, List<VerifyRequest> requests, RecoveryBounds bounds)
    {
        var path = Path.Combine(directory, VerifyBounds.WindowsFile);
        if (!File.Exists(path)) throw new CliException($"--bounds needs {path} (deploy/local/faults writes it); it is not there.");
        var windows = FaultWindow.ReadCsv(path);
        if (windows.Count == 0) throw new CliException($"--bounds: {path} names no fault.");
        var checks = windows.SelectMany(w => VerifyBounds.Evaluate(w, requests, bounds)).ToList();
        var table = new Table().AddColumn("fault").AddColumn("bound").AddColumn("measured").AddColumn("limit").AddColumn("result");
        foreach (var c in checks)
            table.AddRow(Markup.Escape(c.Fault), Markup.Escape(c.Bound), Markup.Escape(c.Measured), Markup.Escape(c.Limit), c.Ok ? "[green]ok[/]" : "[red]FAILED[/]");
        AnsiConsole.Write(table);
        // One unwrapped line per failed bound, for logs and for grep.
        foreach (var c in checks.Where(c => !c.Ok))
            Console.WriteLine($"verify report: FAILED {c.Fault}: {c.Bound}: measured {c.Measured}, bound {c.Limit}");
        return checks.All(c => c.Ok);
    }

    private static string Count(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Seconds from the fault to the first success after the last failure of that kind in the window
    /// (for ingest, a 200 with events answered retry is a failure: those events still wait).</summary>
    private static string Recovery(List<VerifyRequest> window, string kind, long faultAt)
    {
        var ofKind = window.Where(r => r.Kind == kind).ToList();
        bool Failed(VerifyRequest r) => kind == "read" ? r.Status is not (200 or 404) : r.IsIngestFailure;
        var lastFailure = ofKind.LastOrDefault(Failed);
        if (lastFailure is null) return "no failure";
        var next = ofKind.FirstOrDefault(r => r.At > lastFailure.At && !Failed(r));
        return next is null ? "not within the window" : $"{(next.At - faultAt) / 1000.0:0.0} s";
    }
}
