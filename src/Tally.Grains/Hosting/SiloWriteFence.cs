using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tally.Postgres.EventLog;

namespace Tally.Grains.Hosting;

/// <summary>This silo's membership row, which fences its log commits (decision 011).</summary>
internal sealed class SiloWriteFence(ILocalSiloDetails silo, IOptions<ClusterOptions> cluster) : IWriteFence
{
    private FenceIdentity? _identity;

    public FenceIdentity Identity => _identity ??= new FenceIdentity(
        cluster.Value.ClusterId, silo.SiloAddress.Endpoint.Address.ToString(), silo.SiloAddress.Endpoint.Port, silo.SiloAddress.Generation);
}
