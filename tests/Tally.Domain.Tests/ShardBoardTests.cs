using CsCheck;
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void a_board_answers_each_member_s_newest_cell_and_sums_after_any_applies_and_removals(bool ranked)
    {
        // Few members, cells with more than four decimals now and then: the compact and the exact scores both.
        var op = Gen.Select(Gen.Int[0, 30], Gen.Int[-400, 400], Gen.Int[0, 9], (m, c, k) => (m, c, k));
        op.Array[0, 300].Sample(ops =>
        {
            var board = new ShardBoard(Key, ranked);
            var reference = new Dictionary<int, BoardCell>();
            long version = 0;
            foreach (var (member, cents, kind) in ops)
            {
                if (kind == 0)
                {
                    board.Remove(member).ShouldBe(reference.Remove(member));
                    continue;
                }
                var cell = new BoardCell(kind == 1 ? cents / 100_000m : cents / 100m, kind, Reached: ++version, Version: version);
                board.Apply(member, cell).ShouldBeTrue();
                reference[member] = cell;
                board.Apply(member, cell with { Score = 1m, Version = version - 1 }).ShouldBeFalse("an older cell");
            }
            board.Count.ShouldBe(reference.Count);
            board.Total.ShouldBe(reference.Values.Sum(c => c.Score));
            board.Actions.ShouldBe(reference.Values.Sum(c => c.Actions));
            for (var member = 0; member <= 30; member++)
            {
                board.TryGetCell(member, out var cell).ShouldBe(reference.TryGetValue(member, out var expected));
                board.Contains(member).ShouldBe(reference.ContainsKey(member));
                cell.ShouldBe(expected);
            }
            if (!ranked) return;
            var page = new List<RankEntry>();
            board.Ranks!.Page(0, 100, page);
            page.Select(e => (e.Score, e.Reached)).ShouldBe(reference.Values.OrderByDescending(c => c.Score).ThenBy(c => c.Reached)
                .Select(c => (c.Score, c.Reached)));
        }, iter: 1_000);
    }
}
