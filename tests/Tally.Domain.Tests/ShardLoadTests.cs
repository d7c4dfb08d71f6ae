using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Xunit;

namespace Tally.Domain.Tests;

/// <summary>A shard's rebuild against the live path: the boards both build from the same users' cells.</summary>
public class ShardLoadTests
{
    [Fact]
    public void a_rebuild_loads_the_boards_a_stream_of_updates_would_have_built()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"measures": {"co2": {}}, "dimensions": ["country"], "time_zone": "UTC"}""");
        var plan = new BoardPlan(Config.TenantConfigParser.Parse(doc.RootElement, out _)!);
        var today = new DateOnly(2025, 11, 22);
        var grace = new BoardGrace(35, 400);
        var random = new Random(11);
        var members = new ShardMembers();
        var load = new ShardLoad(plan, grace, today);
        var live = new Dictionary<BoardKey, ShardBoard>();
        for (var u = 0; u < 200; u++)
        {
            var stats = new UserStats();
            for (var i = 0; i < 3; i++)
            {
                var day = today.AddDays(-random.Next(0, 500)); // some fall in boards closed past their grace
                var e = new ValidEvent($"u{u}", "bike", day.ToDateTime(TimeOnly.MinValue), $"k{u}-{i}",
                    [new MeasureValue("co2", random.Next(1, 400) / 4m)], [new DimValue("country", u % 2 == 0 ? "NL" : "FR")], null);
                stats.Apply(u * 10 + i + 1, day, e, plan);
            }
            var member = members.Of($"u{u}");
            load.Add(member, stats);
            foreach (var (key, cell) in stats.Cells)
            {
                if (!live.TryGetValue(key, out var board))
                {
                    if (!ShardLoad.Opens(plan, grace, today, key)) continue;
                    live[key] = board = ShardLoad.Open(plan, key, members.ByUserId);
                }
                board.Apply(member, cell);
            }
        }

        var loaded = load.Boards(members.ByUserId).ToDictionary(b => b.Key);
        loaded.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal).ShouldBe(live.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        loaded.Keys.ShouldNotContain(k => grace.IsEvicted(k, today));
        load.Cells.ShouldBe(live.Values.Sum(b => b.Count));
        foreach (var (key, board) in live)
        {
            loaded[key].Total.ShouldBe(board.Total);
            loaded[key].Actions.ShouldBe(board.Actions);
            if (board.Ranks is null) continue;
            var a = new List<RankEntry>();
            var b = new List<RankEntry>();
            loaded[key].Ranks!.Page(0, 1000, a);
            board.Ranks.Page(0, 1000, b);
            a.ShouldBe(b);
        }
    }
}
