using Microsoft.Extensions.Logging;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Postgres.Boards;

namespace Tally.Grains.Boards;

internal sealed partial class MaintenanceGrain
{
    /// <summary>
    /// For every user with events received between the watermark and now minus the lag: if the saved
    /// state is behind the log, or the user's board shard is, the user grain saves and republishes its
    /// absolute cells straight to the shard. Then the watermark advances, keeping the invariant that
    /// saved states hold every event received before it.
    /// </summary>
    private async Task<ReconcileReport> ReconcileAsync(CancellationToken ct)
    {
        var since = await recovery.ReadWatermarkAsync(RecoveryStore.ReconcileJob, ct);
        var until = await recovery.DatabaseNowAsync(TimeSpan.FromSeconds(_options.ReconcileLagSeconds), ct);
        if (until <= since) return new ReconcileReport(0, 0, 0, since);
        var active = await recovery.ReadActiveUsersAsync(since, until, ct);
        var republished = 0;
        var healed = 0;
        foreach (var byTenant in active.GroupBy(a => a.TenantId))
        {
            var tenant = await tenants.GetAsync(byTenant.Key, 0, ct);
            if (tenant is null || tenant.IsRemoving) continue;
            foreach (var byShard in byTenant.GroupBy(a => BoardShards.Of(a.UserId, tenant.Config.BoardShards)))
            {
                var shard = GrainFactory.Grain<IBoardShardGrain>(BoardShards.Key(tenant.TenantId, byShard.Key));
                var users = byShard.ToList();
                var behind = new HashSet<string>(await shard.Behind(users.Select(u => u.UserId).ToArray(), users.Select(u => u.MaxEventId).ToArray()), StringComparer.Ordinal);
                foreach (var u in users)
                    if (u.SavedEventId < u.MaxEventId) behind.Add(u.UserId);
                foreach (var chunk in behind.Chunk(200))
                {
                    var updates = await Task.WhenAll(chunk.Select(id => GrainFactory.Grain<IUserGrain>(UserKey.Format(tenant.TenantId, id)).Republish()));
                    healed += await shard.Apply(new BoardUpdateBatch(updates, 0)); // 0: a heal, not a publish (no lag sample)
                    republished += updates.Length;
                }
            }
        }
        await recovery.AdvanceWatermarkAsync(RecoveryStore.ReconcileJob, until, active.Count, ct);
        jobMetrics.Finished(RecoveryStore.ReconcileJob, active.Count);
        boardMetrics.Reconciled(healed, republished);
        if (healed > 0)
            logger.LogWarning("Reconciliation healed {Cells} board cells of {Users} users (events received {Since:O} to {Until:O}).", healed, republished, since, until);
        return new ReconcileReport(active.Count, republished, healed, until);
    }
}
