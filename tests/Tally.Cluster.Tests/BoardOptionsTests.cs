using Shouldly;
using Tally.Grains.Boards;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>The snapshot pacing and rebuild knobs are checked at start-up and named when out of range; the rebuild gate holds shards to its count.</summary>
public class BoardOptionsTests
{
    [Theory]
    [InlineData(0, 200, "SnapshotDutyPercent")]
    [InlineData(101, 200, "SnapshotDutyPercent")]
    [InlineData(50, 0, "SnapshotUserChunk")]
    public void out_of_range_snapshot_pacing_is_refused_by_name(int duty, int chunk, string setting)
    {
        var result = new BoardOptionsValidator().Validate(null, new BoardOptions { SnapshotDutyPercent = duty, SnapshotUserChunk = chunk });
        result.Failed.ShouldBeTrue();
        result.FailureMessage.ShouldContain("Tally:Boards:" + setting);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(257)]
    public void an_out_of_range_rebuild_concurrency_is_refused_by_name(int concurrency)
    {
        var result = new BoardOptionsValidator().Validate(null, new BoardOptions { RebuildConcurrency = concurrency });
        result.Failed.ShouldBeTrue();
        result.FailureMessage.ShouldContain("Tally:Boards:RebuildConcurrency");
    }

    [Fact]
    public async Task shards_past_the_rebuild_concurrency_wait_for_a_turn()
    {
        var gate = new ShardRebuildGate(Microsoft.Extensions.Options.Options.Create(new BoardOptions { RebuildConcurrency = 2 }));
        var first = await gate.EnterAsync();
        using var second = await gate.EnterAsync();
        var third = gate.EnterAsync();
        third.IsCompleted.ShouldBeFalse();
        first.Dispose();
        first.Dispose(); // a second dispose gives back nothing more
        using var turn = await third.WaitAsync(TimeSpan.FromSeconds(10));
        gate.EnterAsync().IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public void the_defaults_are_valid()
    {
        new BoardOptionsValidator().Validate(null, new BoardOptions()).Succeeded.ShouldBeTrue();
    }
}
