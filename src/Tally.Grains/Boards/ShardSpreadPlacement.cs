using Orleans.Placement;
using Orleans.Runtime.Placement;
using Tally.Domain.Boards;

namespace Tally.Grains.Boards;

/// <summary>
/// Places a tenant's board shards round the silos in turn: shard k of a tenant goes to silo (offset + k) mod silos,
/// silos in the order Orleans sorts their addresses, the offset a hash of the tenant id (so the shards 0 of all tenants do not share one silo).
/// Random placement can put two of a tenant's four shards on one silo of three and leave another idle; this spreads
/// them evenly whenever they activate together. A placement holds until the activation ends: a silo that joins
/// takes new activations only, and a lost silo's shards are placed over those left.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed class ShardSpreadPlacement : PlacementStrategy;

/// <summary>Marks a grain keyed <c>tenant/shard</c> (<see cref="BoardShards.Key"/>) for <see cref="ShardSpreadPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class ShardSpreadPlacementAttribute() : PlacementAttribute(new ShardSpreadPlacement());

internal sealed class ShardSpreadPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        // A copy: the context's array may be shared.
        var silos = context.GetCompatibleSilos(target).Order().ToArray();
        var (tenantId, shard) = BoardShards.ParseKey(target.GrainIdentity.Key.ToString()!);
        // The same FNV-1a that places users over shards, here over silos.
        var offset = BoardShards.Of(tenantId, silos.Length);
        return Task.FromResult(silos[(offset + shard) % silos.Length]);
    }
}
