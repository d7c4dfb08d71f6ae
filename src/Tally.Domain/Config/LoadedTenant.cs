using Tally.Domain.Boards;
using Tally.Domain.Checkpoints;
using Tally.Domain.Time;

namespace Tally.Domain.Config;

/// <summary>A tenant's config as parsed once per process: calendar, board plan and checkpoint rules included.
/// <paramref name="RemovingSince"/> is set while the tenant is being removed: its keys no longer serve.</summary>
public sealed record LoadedTenant(string TenantId, TenantConfig Config, TenantCalendar Calendar, BoardPlan Plan, long Version, DateTimeOffset LoadedAt,
    CheckpointRules? Checkpoints = null, DateTimeOffset? RemovingSince = null)
{
    public bool IsRemoving => RemovingSince is not null;

    /// <summary>Everything derived from a config, once: its calendar, its board plan and, if it has a checkpoint, the
    /// rules of the checkpoint's current era.</summary>
    public static LoadedTenant From(string tenantId, TenantConfig config, long version, DateTimeOffset loadedAt, int checkpointEra, DateTimeOffset? removingSince)
    {
        var calendar = TenantCalendar.For(config.TimeZone);
        var checkpoints = config.Checkpoint is { } checkpoint ? new CheckpointRules(checkpoint, calendar.Zone, config.Measures.Keys.ToArray(), checkpointEra) : null;
        return new LoadedTenant(tenantId, config, calendar, new BoardPlan(config), version, loadedAt, checkpoints, removingSince);
    }
}
