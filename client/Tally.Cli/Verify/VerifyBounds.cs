using System.Globalization;

namespace Tally.Cli.Verify;

/// <summary>One request of the workload, from <c>requests.csv</c>: answered at <see cref="At"/> (unix ms) after
/// <see cref="LatencyMs"/>; status 0 is no answer. <see cref="Accepted"/> and <see cref="Retry"/> count the events
/// answered <c>accepted</c> and <c>retry</c> in a 200.</summary>
internal sealed record VerifyRequest(long At, string Kind, int Status, double LatencyMs, int Accepted, int Retry)
{
    public double SentAt => At - LatencyMs;

    public bool IsIngest => Kind == "ingest";

    /// <summary>An ingest request that did not settle every event: no answer, any status but 200, or a 200 with events answered <c>retry</c>.</summary>
    public bool IsIngestFailure => IsIngest && (Status != 200 || Retry > 0);

    /// <summary>Parses <c>requests.csv</c> (the columns of <see cref="VerifyWorkload.RequestsHeader"/>; files from before the
    /// last two columns read as 0 accepted, 0 retry), ordered by answer time.</summary>
    public static List<VerifyRequest> ReadCsv(string path) =>
        File.ReadLines(path).Skip(1).Where(line => line.Length > 0)
            .Select(line => line.Split(','))
            .Select(p => new VerifyRequest(
                long.Parse(p[0], CultureInfo.InvariantCulture), p[1], int.Parse(p[2], CultureInfo.InvariantCulture),
                double.Parse(p[3], CultureInfo.InvariantCulture),
                p.Length > 4 ? int.Parse(p[4], CultureInfo.InvariantCulture) : 0,
                p.Length > 5 ? int.Parse(p[5], CultureInfo.InvariantCulture) : 0))
            .OrderBy(r => r.At).ToList();
}

/// <summary>
/// A fault with recovery bounds, as <c>deploy/local/faults</c> writes it to <c>fault-windows.csv</c>
/// (<c>label,silo_port,start_ms,end_ms,recovered_ms,dead_ms</c>, unix ms): the fault was injected at
/// <see cref="StartMs"/> and removed at <see cref="EndMs"/> (SIGCONT, partition lifted); the cluster had all its
/// silos active again at <see cref="RecoveredMs"/>; the sick silo's membership row was first seen Dead at
/// <see cref="DeadMs"/> (polled every 0.5 s while the fault lasted; empty if never).
/// </summary>
internal sealed record FaultWindow(string Label, int SiloPort, long StartMs, long EndMs, long? RecoveredMs, long? DeadMs)
{
    public const string Header = "label,silo_port,start_ms,end_ms,recovered_ms,dead_ms";

    public static List<FaultWindow> ReadCsv(string path) =>
        File.ReadLines(path).Skip(1).Where(line => line.Length > 0).Select(line =>
        {
            var p = line.Split(',');
            if (p.Length != 6) throw new CliException($"{path}: '{line}' is not {Header}.");
            static long? Optional(string text) => text.Length == 0 ? null : long.Parse(text, CultureInfo.InvariantCulture);
            return new FaultWindow(p[0], int.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture),
                long.Parse(p[3], CultureInfo.InvariantCulture), Optional(p[4]), Optional(p[5]));
        }).ToList();
}

/// <summary>The recovery bounds a sick silo must keep (the brief of the fault checker; each a <c>tally verify report</c> option).</summary>
/// <param name="AnswerMs">No ingest request in flight from the fault until the cluster is whole again waits longer for an answer.</param>
/// <param name="SliceSeconds">Every slice of this length while the fault lasts has an ingest answered 200 with accepted events.</param>
/// <param name="ResumeSeconds">Every ingest request sent later than this after the fault's start (and before its end) is served:
/// answered 200 without retry entries within <paramref name="AnswerMs"/>.</param>
/// <param name="DeadSeconds">The sick silo's membership row is Dead (status 6) this long after the fault's start at most.</param>
internal sealed record RecoveryBounds(int AnswerMs, int SliceSeconds, int ResumeSeconds, int DeadSeconds);

/// <summary>One bound of one fault: what was measured against the limit.</summary>
internal sealed record BoundCheck(string Fault, string Bound, string Measured, string Limit, bool Ok);

/// <summary>
/// <c>tally verify report --bounds</c>: checks each fault of <c>fault-windows.csv</c> against
/// <see cref="RecoveryBounds"/> from what the workload saw (<c>requests.csv</c>). Times are from the fault's start.
/// </summary>
internal static class VerifyBounds
{
    public const string WindowsFile = "fault-windows.csv";

    public static List<BoundCheck> Evaluate(FaultWindow fault, IReadOnlyList<VerifyRequest> requests, RecoveryBounds bounds)
    {
        var checks = new List<BoundCheck>(4);
        var inv = CultureInfo.InvariantCulture;
        string Since(double unixMs) => string.Create(inv, $"+{(unixMs - fault.StartMs) / 1000:0.0} s");
        var ingest = requests.Where(r => r.IsIngest).ToList();
        var wholeAt = fault.RecoveredMs ?? fault.EndMs;

        // (a) Every ingest request in flight at any moment from the fault's start until the cluster was whole again.
        var inFlight = ingest.Where(r => r.SentAt <= wholeAt && r.At >= fault.StartMs).ToList();
        var slowest = inFlight.MaxBy(r => r.LatencyMs);
        checks.Add(new BoundCheck(fault.Label, "slowest ingest answer, fault start to all silos active",
            slowest is null ? "no ingest request" : string.Create(inv, $"{slowest.LatencyMs:N0} ms (sent {Since(slowest.SentAt)}, {StatusText(slowest)}; {inFlight.Count:N0} requests)"),
            string.Create(inv, $"<= {bounds.AnswerMs:N0} ms"),
            slowest is not null && slowest.LatencyMs <= bounds.AnswerMs));

        // (b) Users on the healthy silos keep being served: an accepted ingest answered in every slice of the fault.
        var sliceMs = bounds.SliceSeconds * 1000L;
        var slices = (int)((fault.EndMs - fault.StartMs) / sliceMs);
        var empty = new List<string>();
        var fewest = int.MaxValue;
        for (var k = 0; k < slices; k++)
        {
            long from = fault.StartMs + k * sliceMs, to = from + sliceMs;
            var served = ingest.Count(r => r.At >= from && r.At < to && r.Status == 200 && r.Accepted > 0);
            fewest = Math.Min(fewest, served);
            if (served == 0)
            {
                var answered = ingest.Count(r => r.At >= from && r.At < to);
                empty.Add(string.Create(inv, $"+{k * bounds.SliceSeconds}-{(k + 1) * bounds.SliceSeconds} s ({answered} answered, none with accepted events)"));
            }
        }
        checks.Add(new BoundCheck(fault.Label, string.Create(inv, $"{bounds.SliceSeconds} s slices of the fault with an accepted ingest"),
            slices == 0 ? "the fault was shorter than one slice"
            : empty.Count == 0 ? string.Create(inv, $"all {slices}; fewest in a slice: {fewest}")
            : string.Create(inv, $"{slices - empty.Count} of {slices}; none in {string.Join(", ", empty)}"),
            "every slice", slices > 0 && empty.Count == 0));

        // (c) Every user's ingest works again: no request sent from the bound until the fault's end went unserved,
        // and some were sent (a writer stuck in a hung request sends nothing). Unserved: no answer, a status but 200,
        // retry entries, or an answer slower than the bound (a request that hangs has not resumed either).
        var resumeBy = fault.StartMs + bounds.ResumeSeconds * 1000L;
        bool Unserved(VerifyRequest r) => r.IsIngestFailure || r.LatencyMs > bounds.AnswerMs;
        var duringFault = ingest.Where(r => r.SentAt >= fault.StartMs && r.SentAt < fault.EndMs).ToList();
        var unserved = duringFault.Where(Unserved).ToList();
        var lastUnserved = unserved.MaxBy(r => r.SentAt);
        var sentLate = duringFault.Count(r => r.SentAt >= resumeBy);
        var lateUnserved = unserved.Count(r => r.SentAt >= resumeBy);
        checks.Add(new BoundCheck(fault.Label, "last unserved ingest (503, no answer, retry entries, or slower than the answer bound) sent during the fault",
            (lastUnserved is null ? "none" : string.Create(inv, $"sent {Since(lastUnserved.SentAt)} ({StatusText(lastUnserved)}, {lastUnserved.LatencyMs:N0} ms)"))
            + string.Create(inv, $"; {unserved.Count:N0} unserved of {duringFault.Count:N0} sent during the fault; {sentLate:N0} sent from +{bounds.ResumeSeconds} s, {lateUnserved:N0} of them unserved"),
            string.Create(inv, $"before +{bounds.ResumeSeconds} s, and some sent after"),
            sentLate > 0 && lateUnserved == 0));

        // (d) The membership protocol declared the sick silo dead.
        checks.Add(new BoundCheck(fault.Label, string.Create(inv, $"silo port {fault.SiloPort} declared dead (membership status 6)"),
            fault.DeadMs is { } dead ? string.Create(inv, $"after {(dead - fault.StartMs) / 1000.0:0.0} s")
            : string.Create(inv, $"not while the fault lasted ({(fault.EndMs - fault.StartMs) / 1000.0:0.0} s)"),
            string.Create(inv, $"<= {bounds.DeadSeconds} s"),
            fault.DeadMs is { } at && at - fault.StartMs <= bounds.DeadSeconds * 1000L));
        return checks;
    }

    private static string StatusText(VerifyRequest r) =>
        r.Status == 0 ? "no answer"
        : r.Retry > 0 ? string.Create(CultureInfo.InvariantCulture, $"200 with {r.Retry} retry")
        : r.Status.ToString(CultureInfo.InvariantCulture);
}
