using System.Diagnostics;
using System.Globalization;

namespace Tally.Cli.Bench;

/// <summary>
/// Waits until the machine is quiet before a measured phase: the work a phase leaves behind (state saves due 20 s later,
/// the snapshot run of the boards it moved, vacuum) would otherwise land in the next phase and weigh on whichever
/// scenario comes next. Reads <c>/proc/stat</c>; where there is none, it does not wait.
/// </summary>
internal static class MachineIdle
{
    /// <summary>
    /// Waits for what a phase that ended at <paramref name="phaseEnded"/> left behind: the users' state saves (due
    /// <c>Tally:UserGrain:PersistIntervalSeconds</c>, 20 s, after their last event), a snapshot run that started after
    /// it (the daily stats job, last of a run, finished since; read from the stack's <c>/metrics</c> when it serves the
    /// silo's), then a quiet machine. At most <paramref name="atMost"/> in all; returns how long it waited.
    /// </summary>
    public static async Task<TimeSpan> AfterPhaseAsync(HttpClient http, DateTimeOffset phaseEnded, TimeSpan atMost)
    {
        var waited = Stopwatch.StartNew();
        var savesDue = phaseEnded + TimeSpan.FromSeconds(22) - DateTimeOffset.UtcNow;
        if (savesDue > TimeSpan.Zero) await Task.Delay(savesDue);
        while (waited.Elapsed < atMost && await SnapshotAgeAsync(http) is { } age && DateTimeOffset.UtcNow - age < phaseEnded)
            await Task.Delay(1000);
        var left = atMost - waited.Elapsed;
        if (left > TimeSpan.Zero) await WaitAsync(atMost: left);
        return waited.Elapsed;
    }

    /// <summary>Time since the daily stats job last finished, or null when the stack's /metrics does not show it.</summary>
    private static async Task<TimeSpan?> SnapshotAgeAsync(HttpClient http)
    {
        try
        {
            var text = await http.GetStringAsync("/metrics");
            foreach (var line in text.Split('\n'))
                if (line.StartsWith("tally_snapshot_age_seconds{", StringComparison.Ordinal) && line.Contains("job=\"user_daily_stats\"", StringComparison.Ordinal)
                    && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                    return TimeSpan.FromSeconds(seconds);
        }
        catch (HttpRequestException)
        {
        }
        return null;
    }

    /// <summary>Returns once the machine's busy share stayed below <paramref name="busyBelow"/> for <paramref name="quietFor"/>,
    /// or after <paramref name="atMost"/>; says how long it waited.</summary>
    public static async Task<TimeSpan> WaitAsync(double busyBelow = 0.25, TimeSpan? quietFor = null, TimeSpan? atMost = null)
    {
        var quiet = quietFor ?? TimeSpan.FromSeconds(3);
        var limit = atMost ?? TimeSpan.FromMinutes(2);
        var waited = Stopwatch.StartNew();
        if (Sample() is not { } previous) return TimeSpan.Zero;
        var quietSince = Stopwatch.StartNew();
        while (waited.Elapsed < limit)
        {
            await Task.Delay(500);
            if (Sample() is not { } now) return waited.Elapsed;
            var total = now.Total - previous.Total;
            var busy = total <= 0 ? 0 : 1 - (double)(now.Idle - previous.Idle) / total;
            previous = now;
            if (busy >= busyBelow) quietSince.Restart();
            else if (quietSince.Elapsed >= quiet) return waited.Elapsed;
        }
        return waited.Elapsed;
    }

    private static (long Idle, long Total)? Sample()
    {
        if (!File.Exists("/proc/stat")) return null;
        // "cpu  user nice system idle iowait irq softirq steal ...": idle and iowait are idle time.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return (fields[3] + fields[4], fields.Take(8).Sum());
    }
}
