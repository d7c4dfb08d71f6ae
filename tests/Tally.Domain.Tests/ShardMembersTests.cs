using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Stats;
using Tally.Domain.Time;
using Xunit;

namespace Tally.Domain.Tests;

public class ShardMembersTests
{
    [Fact]
    public void a_user_keeps_one_member_number_and_its_version_never_goes_back()
    {
        var members = new ShardMembers();
        var a = members.Of("a");
        members.Of("b").ShouldBe(a + 1);
        members.Of("a").ShouldBe(a);
        members.Count.ShouldBe(2);

        members.Advance(a, 7);
        members.Advance(a, 5);
        members.Version(a).ShouldBe(7);
        members.IsBehind("a", 7).ShouldBeFalse();
        members.IsBehind("a", 8).ShouldBeTrue();
        members.IsBehind("never-seen", 1).ShouldBeTrue();
        members.TryFind("never-seen", out _).ShouldBeFalse();
    }

    [Fact]
    public void a_removal_refuses_cells_published_before_it_and_only_those()
    {
        var members = new ShardMembers();
        var a = members.Of("a");
        members.IsErased(a, 1).ShouldBeFalse();
        members.Erase(a, 10);
        members.Erase(a, 4); // a late, older removal does not shorten the first
        members.IsErased(a, 10).ShouldBeTrue();
        members.IsErased(a, 11).ShouldBeFalse();
        members.IsErased(members.Of("b"), 1).ShouldBeFalse();
    }

    [Fact]
    public void members_tie_in_user_id_order_whatever_order_they_arrived_in()
    {
        Gen.String[Gen.Char['a', 'z'], 1, 6].Array[2, 40].Sample(ids =>
        {
            var members = new ShardMembers();
            var numbers = ids.Distinct().Select(members.Of).ToList();
            numbers.Sort(members.ByUserId);
            numbers.Select(members.UserId).ShouldBe(ids.Distinct().Order(StringComparer.Ordinal));
        });
    }

    [Fact]
    public void a_rebuild_loads_the_boards_a_stream_of_updates_would_have_built()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"measures": {"co2": {}}, "dimensions": ["country"], "time_zone": "UTC"}""");
        var plan = new BoardPlan(TenantConfigParser.Parse(doc.RootElement, out _)!);
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
        load.Cells.ShouldBe(live.Values.Sum(b => b.Members.Count));
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
