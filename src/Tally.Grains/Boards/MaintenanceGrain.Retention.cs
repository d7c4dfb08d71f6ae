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
}
