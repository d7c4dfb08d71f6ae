using System.Diagnostics.Metrics;

namespace Tally.Grains.Boards;

/// <summary>The boards' instruments on the silo's <c>/metrics</c> (meter <c>Tally.Boards</c>): publishing, shards,
/// reconciliation and the ranks of stats reads. One per silo, from the host's <see cref="IMeterFactory"/>.</summary>
internal sealed class BoardMetrics
{
    private int _healedCells;
    private int _republished;

    public BoardMetrics(IMeterFactory meters)
    {
        var meter = meters.Create("Tally.Boards");
        UpdatesPublished = meter.CreateCounter<long>("tally_board_updates_published");
        UpdatesMisrouted = meter.CreateCounter<long>("tally_board_updates_misrouted", "{update}",
            "Users' cells a shard dropped because the tenant's shard count does not give it the user (a process still on the count before a resharding sent them; reconciliation delivers them).");
        PublishFailures = meter.CreateCounter<long>("tally_board_publish_failures");
        UpdateLagMs = meter.CreateHistogram<double>("tally_board_update_lag", "ms", "From a silo sending users' cells to their shard applying them.");
        RebuildMs = meter.CreateHistogram<double>("tally_shard_rebuild", "ms", "Duration of a shard rebuild from saved states and the log.");
        RankReads = meter.CreateCounter<long>("tally_stats_rank_reads", "{read}",
            "Stats reads with ranks, by source: probed (asked of the board shards) or recent (the last read's ranks, still young enough).");
        meter.CreateObservableGauge("tally_rollup_drift_cells", () => Volatile.Read(ref _healedCells),
            description: "Board and rollup cells the last reconciliation found behind the log and corrected (0 = no drift).");
        meter.CreateObservableGauge("tally_reconcile_users_republished", () => Volatile.Read(ref _republished));
    }

    public Counter<long> UpdatesPublished { get; }
    public Counter<long> UpdatesMisrouted { get; }
    public Counter<long> PublishFailures { get; }
    public Histogram<double> UpdateLagMs { get; }
    public Histogram<double> RebuildMs { get; }
    public Counter<long> RankReads { get; }

    /// <summary>What the last reconciliation corrected and republished (the gauges show the last run).</summary>
    public void Reconciled(int healedCells, int republished)
    {
        Volatile.Write(ref _healedCells, healedCells);
        Volatile.Write(ref _republished, republished);
    }
}
