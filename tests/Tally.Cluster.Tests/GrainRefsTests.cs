using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>References built by <see cref="GrainRefs"/> are the ones Orleans builds, and calls through them reach the same grains.</summary>
[Collection(SharedClusterCollection.Name)]
public class GrainRefsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task references_equal_orleans_own_and_reach_the_same_grains()
    {
        var grains = fixture.Cluster.Client;
        foreach (var key in new[] { "t/alice", "t/bob", "other/alice" })
        {
            var ours = (GrainReference)(object)grains.Grain<IUserGrain>(key);
            var theirs = (GrainReference)(object)grains.GetGrain<IUserGrain>(key);
            ours.GrainId.ShouldBe(theirs.GrainId);
            ours.InterfaceType.ShouldBe(theirs.InterfaceType);
        }
        ((GrainReference)(object)grains.Grain<IBoardQueryGrain>(0)).GrainId.ShouldBe(((GrainReference)(object)grains.GetGrain<IBoardQueryGrain>(0)).GrainId);
        ((GrainReference)(object)grains.Grain<IBoardShardGrain>("t#1")).GrainId.ShouldNotBe(((GrainReference)(object)grains.GetGrain<IBoardShardGrain>("t#2")).GrainId);
        // A call through the cached types runs on the grain Orleans' reference names: a stateless query grain answers for an unknown tenant by refusing it.
        var error = await Should.ThrowAsync<Exception>(() => grains.Grain<IBoardQueryGrain>(0).Rollup("no-such-tenant", 0, new BoardKey("x", "global", "", PeriodKind.AllTime, 0)));
        error.Message.ShouldContain("no-such-tenant");
    }
}
