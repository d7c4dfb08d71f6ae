using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Postgres.Lifecycle;
using Tally.Postgres.Tenants;
using Tally.Postgres.Webhooks;
using Tally.Redis;

namespace Tally.Grains.Tenants;

/// <summary>
/// Works through one tenant's removal (decision 034). The order matters: nothing may write the tenant's rows after they
/// are deleted, and no raw event may go unexported. So: wait until every process has seen the tenant as removing (its
/// keys then answer 401 everywhere), stop its webhooks and deactivate its grains without saving, export and verify
/// every month of its raw events and remove them, delete every other row and Redis key, and only then the tenant row.
/// </summary>
internal sealed class TenantRemovalGrain(
    TenantStore store,
    TenantConfigCache tenants,
    TenantRemovalStore rows,
    RetentionRunner retention,
    WebhookStore webhooks,
    RedisConnection redis,
    IOptions<ExportOptions> export,
    TimeProvider time,
    ILogger<TenantRemovalGrain> logger) : Grain, ITenantRemovalGrain
{
    // Every process re-reads a tenant's config at least this often; a little more, for clocks and slow reads.
    private static readonly TimeSpan Propagation = TenantConfigCache.MaxAge + TimeSpan.FromSeconds(1);

    public async Task<bool> Run()
    {
        var tenantId = this.GetPrimaryKeyString();
        var stored = await store.GetAsync(tenantId);
        if (stored is null) return true;
        if (stored.RemovingSince is not { } since) return false;
        var wait = since + Propagation - time.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, time);
        tenants.Forget(tenantId);

        foreach (var hook in await webhooks.ListAsync(tenantId))
        {
            await GrainFactory.GetGrain<IWebhookGrain>(WebhookKey.Format(tenantId, hook.WebhookId)).Stop();
            await webhooks.DeleteAsync(tenantId, hook.WebhookId);
        }
        var retired = await RetireGrainsAsync(tenantId);

        var steps = await retention.RemoveAllAsync(tenantId, export.Value.Directory);
        foreach (var step in steps) logger.LogInformation("Removing tenant {Tenant}: {What}: {Rows} rows, {Result}.", tenantId, step.What, step.Rows, step.Result);
        var left = await rows.EventsLeftAsync(tenantId);
        if (left > 0)
        {
            logger.LogWarning("Removing tenant {Tenant}: {Rows} raw events are not exported yet; the removal goes on at the next pass.", tenantId, left);
            return false;
        }
        var deleted = await rows.DeleteAsync(tenantId, tenantRow: false);
        var keys = await redis.RemoveTenantKeysAsync(tenantId);
        // A read in flight may have woken a grain meanwhile: deactivate again, then the tenant row goes with the rest.
        retired += await RetireGrainsAsync(tenantId);
        foreach (var (table, count) in await rows.DeleteAsync(tenantId, tenantRow: true))
            deleted[table] = deleted.GetValueOrDefault(table) + count;
        tenants.Forget(tenantId);
        logger.LogInformation("Removed tenant {Tenant}: {Rows} rows ({Tables}), {Keys} Redis keys, {Grains} grains; raw events exported under {Directory}.",
            tenantId, deleted.Values.Sum(), string.Join(", ", deleted.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value}")), keys, retired,
            Path.GetFullPath(export.Value.Directory));
        return true;
    }

    /// <summary>Deactivates the tenant's active user grains and board shards on every silo, without their saving anything.</summary>
    private async Task<int> RetireGrainsAsync(string tenantId)
    {
        var calls = new List<Task>();
        foreach (var key in await TenantGrains.ActiveUsersAsync(GrainFactory, tenantId))
            calls.Add(GrainFactory.GetGrain<IUserGrain>(key).Retire());
        foreach (var key in await TenantGrains.ActiveShardsAsync(GrainFactory, tenantId))
            calls.Add(GrainFactory.GetGrain<IBoardShardGrain>(key).Retire());
        await Task.WhenAll(calls);
        return calls.Count;
    }
}
