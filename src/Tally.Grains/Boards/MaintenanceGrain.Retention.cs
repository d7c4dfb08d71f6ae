using Microsoft.Extensions.Logging;
using Tally.Domain.Config;

namespace Tally.Grains.Boards;

internal sealed partial class MaintenanceGrain
{
    /// <summary>
    /// Every tenant's raw-event retention, with no operator action (issue 32): what is past it is exported to the
    /// operator's export directory, verified, and only then removed; to the day for <c>raw_events_days</c>. A tenant
    /// being removed is left to its removal. Skipped when <c>tally maintain</c> holds the maintenance lock.
    /// </summary>
    private async Task<long> RunRetentionAsync(CancellationToken ct)
    {
        var list = new List<(string, RetentionConfig)>();
        foreach (var stored in await tenantStore.ListAsync(ct))
            if (stored.RemovingSince is null && Tally.Postgres.Tenants.TenantConfigCache.TryParseStored(stored.ConfigJson) is { } config)
                list.Add((stored.TenantId, config.Retention));
        // The wall clock, not the business clock: retention is about the rows' real age, as tally maintain counts it.
        var steps = await retention.RunAllAsync(list, time.GetUtcNow(), export.Value.Directory, ct);
        if (steps is null)
        {
            logger.LogInformation("Retention: tally maintain holds the maintenance lock; this pass is skipped.");
            return 0;
        }
        foreach (var step in steps.Where(s => s.Rows > 0 || s.Result.StartsWith("kept", StringComparison.Ordinal)))
            logger.Log(step.Result.StartsWith("kept", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information,
                "Retention: {Tenant} {What}: {Rows} rows, {Result}.", step.Tenant, step.What, step.Rows, step.Result);
        return steps.Where(s => s.What.StartsWith("events", StringComparison.Ordinal)).Sum(s => s.Result.StartsWith("kept", StringComparison.Ordinal) ? 0 : s.Rows);
    }

    /// <summary>
    /// Every tenant's continuous export that is due (<c>export.every_minutes</c> since its last batch; <paramref name="force"/>:
    /// now), then the removal of exported events past <c>keep_hours</c>. A batch takes the events received up to now −
    /// <c>delay_minutes</c> (and never younger than <c>ReconcileLagSeconds</c>, so no commit still in flight is passed over).
    /// A tenant whose export fails is logged and tried again at the next scan; the others go on. Returns the rows exported.
    /// </summary>
    private async Task<long> RunExportsAsync(bool force, CancellationToken ct)
    {
        long exported = 0;
        foreach (var stored in await tenantStore.ListAsync(ct))
        {
            if (stored.RemovingSince is not null || Tally.Postgres.Tenants.TenantConfigCache.TryParseStored(stored.ConfigJson)?.Export is not { } config) continue;
            var lag = TimeSpan.FromSeconds(Math.Max(config.DelayMinutes * 60, _options.ReconcileLagSeconds));
            var cutoff = await recovery.DatabaseNowAsync(lag, ct);
            try
            {
                if (await exports.RunAsync(stored.TenantId, config, export.Value, time.GetUtcNow(), cutoff, force, ct) is { } batch)
                {
                    exported += batch.Rows;
                    var tag = new KeyValuePair<string, object?>("tenant", stored.TenantId);
                    exportMetrics.Rows.Add(batch.Rows, tag);
                    exportMetrics.Bytes.Add(batch.Bytes * batch.Sinks.Length, tag);
                    if (batch.Rows > 0)
                        logger.LogInformation("Export: {Tenant} batch {Batch}, {Rows} events ({First}-{Last}) to {Location}.",
                            stored.TenantId, batch.Id, batch.Rows, batch.FirstEventId, batch.LastEventId, batch.Location);
                }
                var backlog = await exports.ReadBacklogAsync(stored.TenantId, ct);
                // Seconds since the oldest event not exported yet arrived (0 when none waits).
                exportMetrics.Lag(stored.TenantId, backlog.OldestPendingReceivedAt is { } oldest ? Math.Max(0, (time.GetUtcNow() - oldest).TotalSeconds) : 0);
                var removed = await exports.RemoveExportedAsync(stored.TenantId, config.KeepHours, time.GetUtcNow(), ct);
                if (removed > 0) logger.LogInformation("Export: {Tenant}: {Rows} exported events past keep_hours removed from the log.", stored.TenantId, removed);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && Tally.Postgres.Lifecycle.ContinuousExport.IsSinkFailure(ex))
            {
                logger.LogWarning("Export: {Tenant}: the batch failed ({Error}); it is tried again at the next scan, nothing unexported is removed.", stored.TenantId, ex.Message);
            }
        }
        return exported;
    }
}
