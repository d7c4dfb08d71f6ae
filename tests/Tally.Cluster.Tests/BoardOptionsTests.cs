using Shouldly;
using Tally.Grains.Boards;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>The snapshot pacing knobs are checked at start-up and named when out of range.</summary>
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

    [Fact]
    public void the_defaults_are_valid()
    {
        new BoardOptionsValidator().Validate(null, new BoardOptions()).Succeeded.ShouldBeTrue();
    }
}
