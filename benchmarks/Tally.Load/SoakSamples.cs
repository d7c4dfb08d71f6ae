using System.Globalization;
using System.Text;

namespace Tally.Cli.Bench;

/// <summary>
/// What one sample window of <c>tally bench soak</c> saw. Answers count in the window in which they arrived.
/// <see cref="Accepted"/> includes <see cref="Duplicates"/>: every event has a key of its own, so a duplicate is a
/// re-sent <c>retry</c> event whose first try had been applied after all. Latencies are NaN where nothing was answered;
/// the stack's figures are null where they could not be read.
/// </summary>
internal sealed record SoakSample(
    TimeSpan Start, TimeSpan End,
    long RequestsSent, long RequestsNotSent, long Accepted, long Duplicates, long Rejected,
    long ShedRequests, long RetryEvents, long ResentEvents, long Errors, long Timeouts,
    double IngestP50Ms, double IngestP99Ms, double IngestMaxMs,
    long Reads, long ReadsNotSent, long ReadErrors, double ReadP50Ms, double ReadP99Ms,
    double? SiloRssMb, double? SiloCpuPercent, double? PostgresMb)
{
    public double Seconds => (End - Start).TotalSeconds;

    public double AcceptedPerSecond => Seconds > 0 ? Accepted / Seconds : 0;
}

/// <summary>Every sample as a line of <c>soak.csv</c>, written as it is taken so a stopped run keeps what it saw.</summary>
internal sealed class SoakCsv : IDisposable
{
    public const string Header =
        "start_s,end_s,target_events_per_s,accepted_events_per_s,accepted,duplicates,rejected,requests_sent,requests_not_sent,"
        + "shed_requests,retry_events,resent_events,errors,timeouts,ingest_p50_ms,ingest_p99_ms,ingest_max_ms,"
        + "reads,reads_not_sent,read_errors,read_p50_ms,read_p99_ms,silo_rss_mb,silo_cpu_percent,postgres_pss_mb";

    private readonly StreamWriter _writer;

    public SoakCsv(string path)
    {
        _writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        _writer.WriteLine(Header);
        _writer.Flush();
    }

    public void Write(SoakSample sample, double targetPerSecond)
    {
        _writer.WriteLine(Row(sample, targetPerSecond));
        _writer.Flush();
    }

    public static string Row(SoakSample s, double targetPerSecond)
    {
        static string N(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : "";
        return string.Join(',',
            N(s.Start.TotalSeconds), N(s.End.TotalSeconds), N(targetPerSecond), N(s.AcceptedPerSecond), N(s.Accepted), N(s.Duplicates), N(s.Rejected),
            N(s.RequestsSent), N(s.RequestsNotSent), N(s.ShedRequests), N(s.RetryEvents), N(s.ResentEvents), N(s.Errors), N(s.Timeouts),
            N(s.IngestP50Ms), N(s.IngestP99Ms), N(s.IngestMaxMs), N(s.Reads), N(s.ReadsNotSent), N(s.ReadErrors), N(s.ReadP50Ms), N(s.ReadP99Ms),
            N(s.SiloRssMb), N(s.SiloCpuPercent), N(s.PostgresMb));
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>One part of the verdict: passed, failed, or not judged (<see cref="Passed"/> null) with the reason.</summary>
internal sealed record SoakVerdictPart(string Rule, bool? Passed, string Detail);

/// <summary>
/// The soak's verdict: after the first minute (warm-up), ingest p99 under 500 ms and read p99 under 50 ms in every
/// sample, accepted events at 95% of the target or more, and the silo's RSS flat: its average over the last 5 minutes
/// no more than 15% above its average over minutes 5-10 (judged only when those two spans do not overlap, i.e. from
/// 15 minutes on). Minutes 1-5 are left out of the baseline: the silo's heap still grows there as the run's users'
/// grains activate, which is the cluster filling up, not a leak (decision 032). A sample belongs to the span in which it starts.
/// </summary>
internal static class SoakVerdict
{
    public static readonly TimeSpan WarmUp = TimeSpan.FromMinutes(1);
    public const double IngestP99LimitMs = 500;
    public const double ReadP99LimitMs = 50;
    public const double MinAcceptedShare = 0.95;
    public const double MaxRssGrowth = 0.15;
    /// <summary>The RSS baseline is minutes 5-10: once the run's users are active, before the tail.</summary>
    public static readonly TimeSpan RssBaselineStart = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan RssBaselineEnd = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan RssTail = TimeSpan.FromMinutes(5);

    public static bool Passed(IReadOnlyList<SoakVerdictPart> parts) => parts.All(p => p.Passed != false) && parts.Any(p => p.Passed == true);

    public static IReadOnlyList<SoakVerdictPart> Judge(IReadOnlyList<SoakSample> samples, double targetPerSecond, bool reads)
    {
        var steady = samples.Where(s => s.Start >= WarmUp).ToList();
        var ingestRule = string.Create(CultureInfo.InvariantCulture, $"ingest p99 < {IngestP99LimitMs:0} ms in every sample after warm-up");
        var readRule = string.Create(CultureInfo.InvariantCulture, $"read p99 < {ReadP99LimitMs:0} ms in every sample after warm-up");
        var rateRule = string.Create(CultureInfo.InvariantCulture, $"accepted events/s >= {MinAcceptedShare:0%} of the target after warm-up");
        var rssRule = string.Create(CultureInfo.InvariantCulture, $"silo RSS flat: last {RssTail.TotalMinutes:0} minutes' average <= minutes 5-10's + {MaxRssGrowth:0%}");
        if (steady.Count == 0)
        {
            const string none = "no sample after the first minute";
            return [new(ingestRule, null, none), new(readRule, null, none), new(rateRule, null, none), new(rssRule, null, none)];
        }
        return
        [
            Latency(ingestRule, steady, s => s.IngestP99Ms, IngestP99LimitMs),
            reads ? Latency(readRule, steady, s => s.ReadP99Ms, ReadP99LimitMs) : new(readRule, null, "no reads (--reads 0)"),
            Rate(rateRule, steady, targetPerSecond),
            Rss(rssRule, samples),
        ];
    }

    private static SoakVerdictPart Latency(string rule, List<SoakSample> steady, Func<SoakSample, double> p99, double limitMs)
    {
        // NaN (nothing answered in the window) fails too: a window of timeouts must not pass as fast.
        var over = steady.Where(s => !(p99(s) < limitMs)).ToList();
        var worst = steady.MaxBy(s => double.IsNaN(p99(s)) ? double.PositiveInfinity : p99(s))!;
        var detail = over.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"worst {p99(worst):0.0} ms at {Clock(worst.Start)}")
            : string.Create(CultureInfo.InvariantCulture, $"{over.Count} of {steady.Count} samples over, worst {Ms(p99(worst))} at {Clock(worst.Start)}");
        return new(rule, over.Count == 0, detail);
    }

    private static SoakVerdictPart Rate(string rule, List<SoakSample> steady, double targetPerSecond)
    {
        var rate = AcceptedPerSecond(steady);
        return new(rule, rate >= MinAcceptedShare * targetPerSecond,
            string.Create(CultureInfo.InvariantCulture, $"{rate:N0}/s of {targetPerSecond:N0}/s ({rate / targetPerSecond:0.0%})"));
    }

    private static SoakVerdictPart Rss(string rule, IReadOnlyList<SoakSample> samples)
    {
        var end = samples[^1].End;
        if (end - RssTail < RssBaselineEnd)
            return new(rule, null, $"run shorter than {(RssBaselineEnd + RssTail).TotalMinutes:0} minutes: minutes 5-10 and the last {RssTail.TotalMinutes:0} overlap");
        var baseline = samples.Where(s => s.Start >= RssBaselineStart && s.Start < RssBaselineEnd && s.SiloRssMb is not null).Select(s => s.SiloRssMb!.Value).ToList();
        var tail = samples.Where(s => s.Start >= end - RssTail && s.SiloRssMb is not null).Select(s => s.SiloRssMb!.Value).ToList();
        if (baseline.Count == 0 || tail.Count == 0) return new(rule, null, "the silo's RSS could not be read (.tally/run/silo*.pid)");
        var growth = tail.Average() / baseline.Average() - 1;
        return new(rule, growth <= MaxRssGrowth,
            string.Create(CultureInfo.InvariantCulture, $"{baseline.Average():N0} MB -> {tail.Average():N0} MB ({growth:+0.0%;-0.0%})"));
    }

    /// <summary>Accepted events over the samples' time: the achieved rate.</summary>
    public static double AcceptedPerSecond(IEnumerable<SoakSample> samples)
    {
        var (events, seconds) = samples.Aggregate((Events: 0L, Seconds: 0.0), (sum, s) => (sum.Events + s.Accepted, sum.Seconds + s.Seconds));
        return seconds > 0 ? events / seconds : 0;
    }

    /// <summary>Minutes and seconds, rounded: a window closes a moment either side of its nominal end (timers are not
    /// exact), and 0:19.998 should read 0:20.</summary>
    public static string Clock(TimeSpan elapsed)
    {
        var seconds = (long)Math.Round(elapsed.TotalSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"{seconds / 60}:{seconds % 60:00}");
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "no answer" : string.Create(CultureInfo.InvariantCulture, $"{ms:0.0} ms");
}
