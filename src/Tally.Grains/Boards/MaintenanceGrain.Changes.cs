using Microsoft.Extensions.Logging;
using Tally.Contracts;

namespace Tally.Grains.Boards;

internal sealed partial class MaintenanceGrain
{
    /// <summary>
    /// The change feed's retention: each tenant's changes recorded more than <c>changes.keep_days</c> ago are removed, but
    /// never one an active webhook has not delivered yet (by primary key range: the cost is what is removed). Then every
    /// active webhook's deliverer is told to run (idempotent; normally its own reminder keeps it alive).
    /// </summary>
    private async Task<long> RunChangesAsync(CancellationToken ct)
    {
        long pruned = 0;
        var now = time.GetUtcNow();
        foreach (var tenantId in await changeStore.TenantsWithChangesAsync(ct))
        {
            var tenant = await tenants.GetAsync(tenantId, 0, ct);
            // A tenant removed since keeps its feed until its removal deletes it.
            if (tenant is null) continue;
            pruned += await changeStore.PruneAsync(tenantId, now.AddDays(-tenant.Config.Changes.KeepDays), ct);
        }
        jobMetrics.ChangesPruned(pruned, await changeStore.KeptAsync(ct));
        if (pruned > 0) logger.LogInformation("Change feed: {Pruned} changes past their tenants' retention removed.", pruned);
        var removing = await tenantStore.ListRemovingAsync(ct);
        foreach (var tenantId in removing) ResumeRemoval(tenantId);
        foreach (var hook in await webhookStore.ListActiveAsync(ct))
        {
            if (removing.Contains(hook.TenantId)) continue;
            try
            {
                await GrainFactory.Grain<IWebhookGrain>(WebhookKey.Format(hook.TenantId, hook.WebhookId)).Start();
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Webhook {Tenant}/{Webhook}: its deliverer could not be started; tried again at the next run.", hook.TenantId, hook.WebhookId);
            }
        }
        return pruned;
    }

    /// <summary>Takes up a tenant removal cut short (its silo lost mid-way). Not awaited: a large tenant's export outlasts
    /// any call timeout, and the removal grain runs one removal at a time by itself.</summary>
    private void ResumeRemoval(string tenantId) =>
        GrainFactory.GetGrain<ITenantRemovalGrain>(tenantId).Run().ContinueWith(t =>
        {
            if (t.Exception is { } ex && ex.InnerException is not TimeoutException)
                logger.LogWarning(ex.InnerException, "Removing tenant {Tenant} failed; the next maintenance run tries again.", tenantId);
        }, TaskScheduler.Default);
}
