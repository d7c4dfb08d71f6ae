using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Time;
using Xunit;

namespace Tally.Domain.Tests;

public class ShardBoardTests
{
    private static readonly BoardKey Key = new("co2", "", "", PeriodKind.AllTime, 0);

    [Fact]
    public void a_member_cell_is_replaced_only_by_a_newer_version_and_the_sums_stay_exact()
    {
        var board = new ShardBoard(Key, ranked: true);
        board.Apply(1, new BoardCell(0.1m, 1, Reached: 10, Version: 10)).ShouldBeTrue();
        board.Apply(2, new BoardCell(0.2m, 1, Reached: 11, Version: 11)).ShouldBeTrue();
        board.Apply(1, new BoardCell(0.4m, 3, Reached: 12, Version: 12)).ShouldBeTrue();
        board.Apply(1, new BoardCell(9m, 9, Reached: 9, Version: 9)).ShouldBeFalse("an older cell is redelivered");

        board.Total.ShouldBe(0.6m);
        board.Actions.ShouldBe(4);
        var page = new List<RankEntry>();
        board.Ranks!.Page(0, 10, page);
        page.Select(e => e.Member).ShouldBe([1, 2]);
    }

    [Fact]
    public void loading_many_members_equals_applying_them_one_by_one()
    {
        var random = new Random(7);
        var cells = Enumerable.Range(0, 500)
            .Select(m => (m, new BoardCell(random.Next(0, 50) / 4m, 1, Reached: random.Next(1_000_000), Version: m + 1)))
            .ToList();
        var loaded = new ShardBoard(Key, ranked: true);
        loaded.Load(cells);
        var applied = new ShardBoard(Key, ranked: true);
        foreach (var (member, cell) in cells) applied.Apply(member, cell);

        loaded.Total.ShouldBe(applied.Total);
        var a = new List<RankEntry>();
        var b = new List<RankEntry>();
        loaded.Ranks!.Page(0, 500, a);
        applied.Ranks!.Page(0, 500, b);
        a.ShouldBe(b);
        for (var i = 1; i < a.Count; i++)
            RankOrder.Before(a[i].Score, a[i].Reached, a[i - 1].Score, a[i - 1].Reached).ShouldBeFalse();
    }
}
