using Tally.Domain.Boards;
using Tally.Grains.Boards;

namespace Tally.Grains.Tenants;

/// <summary>A tenant's active grains on every silo, listed through the management grain without waking any.</summary>
internal static class TenantGrains
{
    /// <summary>Keys of the tenant's active user grains.</summary>
    public static async Task<List<string>> ActiveUsersAsync(IGrainFactory grains, string tenantId)
    {
        var prefix = tenantId + "/";
        var keys = new List<string>();
        foreach (var id in await grains.GetGrain<IManagementGrain>(0).GetActiveGrains(GrainType.Create(UserGrain.TypeName)))
            if (id.Key.ToString()!.StartsWith(prefix, StringComparison.Ordinal))
                keys.Add(id.Key.ToString()!);
        return keys.Distinct().ToList();
    }

    /// <summary>Keys of the tenant's active board shards, whatever shard count they were started under.</summary>
    public static async Task<List<string>> ActiveShardsAsync(IGrainFactory grains, string tenantId)
    {
        var keys = new List<string>();
        foreach (var id in await grains.GetGrain<IManagementGrain>(0).GetActiveGrains(GrainType.Create(BoardShardGrain.TypeName)))
            if (BoardShards.ParseKey(id.Key.ToString()!).TenantId == tenantId)
                keys.Add(id.Key.ToString()!);
        return keys.Distinct().ToList();
    }
}
