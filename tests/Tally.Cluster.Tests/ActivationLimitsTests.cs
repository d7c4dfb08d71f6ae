using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Metadata;
using Orleans.Runtime;
using Orleans.TestingHost;
using Shouldly;
using Tally.Grains;
using Tally.Grains.Boards;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>How long user grains stay in memory and what sheds them (decision 044): the silo's Orleans options carry
/// Tally's settings, and board shards are exempt from collection.</summary>
[Collection(SharedClusterCollection.Name)]
public class ActivationLimitsTests(ClusterFixture fixture)
{
    [Fact]
    public void a_silo_collects_user_grains_by_their_idle_age_and_sheds_them_past_the_memory_limit()
    {
        foreach (var silo in fixture.Cluster.Silos.Cast<InProcessSiloHandle>())
        {
            var options = silo.SiloHost.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
            options.ClassSpecificCollectionAge[typeof(UserGrain).FullName!].ShouldBe(TimeSpan.FromMinutes(new UserGrainOptions().IdleMinutes));
            options.CollectionQuantum.ShouldBe(TimeSpan.FromMinutes(1));
            options.EnableActivationSheddingOnMemoryPressure.ShouldBeTrue();
            options.MemoryUsageLimitPercentage.ShouldBe(40);
            options.MemoryUsageTargetPercentage.ShouldBe(35);
        }
    }

    [Fact]
    public void board_shards_are_never_collected()
    {
        var silo = fixture.Cluster.Silos.Cast<InProcessSiloHandle>().First();
        var manifest = silo.SiloHost.Services.GetRequiredService<IClusterManifestProvider>().Current;
        var shard = manifest.AllGrainManifests.SelectMany(m => m.Grains).First(g => g.Key == GrainType.Create(BoardShardGrain.TypeName)).Value;
        shard.Properties[WellKnownGrainTypeProperties.IdleDeactivationPeriod].ShouldBe(WellKnownGrainTypeProperties.IndefiniteIdleDeactivationPeriodValue);
        var user = manifest.AllGrainManifests.SelectMany(m => m.Grains).First(g => g.Key == GrainType.Create(UserGrain.TypeName)).Value;
        user.Properties.ContainsKey(WellKnownGrainTypeProperties.IdleDeactivationPeriod).ShouldBeFalse();
    }

    [Theory]
    [InlineData(0.5, 15)]
    [InlineData(1, 30)]
    [InlineData(2, 60)]
    [InlineData(15, 60)]
    public void an_idle_age_under_two_minutes_shortens_the_collection_quantum_to_half_of_it(double idleMinutes, int quantumSeconds) =>
        UserGrainOptions.CollectionQuantum(idleMinutes).ShouldBe(TimeSpan.FromSeconds(quantumSeconds));

    [Theory]
    [InlineData(0, 40, "IdleMinutes")]
    [InlineData(0.4, 40, "IdleMinutes")]
    [InlineData(double.NaN, 40, "IdleMinutes")]
    [InlineData(1441, 40, "IdleMinutes")]
    [InlineData(15, 5, "MemoryLimitPercent")]
    [InlineData(15, 96, "MemoryLimitPercent")]
    public void out_of_range_limits_are_refused_by_name(double idleMinutes, int memoryPercent, string setting)
    {
        var result = new UserGrainOptionsValidator().Validate(null, new UserGrainOptions { IdleMinutes = idleMinutes, MemoryLimitPercent = memoryPercent });
        result.Failed.ShouldBeTrue();
        result.FailureMessage.ShouldContain("Tally:UserGrain:" + setting);
        new UserGrainOptionsValidator().Validate(null, new UserGrainOptions { MemoryLimitPercent = 0 }).Succeeded.ShouldBeTrue();
    }
}
