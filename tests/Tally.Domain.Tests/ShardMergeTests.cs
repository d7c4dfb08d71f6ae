using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

/// <summary>Merging shards gives the board one ranking of every member would: any members spread over any number of
/// shards, each shard answering only its own first (or nearest) entries.</summary>
public class ShardMergeTests
{
    private sealed record Entry(string UserId, decimal Score, long Reached);

    private static readonly Comparison<Entry> Order = (a, b) => RankOrder.Compare(a.Score, a.Reached, a.UserId, b.Score, b.Reached, b.UserId);

    // Few distinct scores and reach ranks, so ties on both (broken by user id) are common.
    private static readonly Gen<Entry[]> Members = Gen.Select(Gen.Int[0, 8], Gen.Long[1, 4], Gen.Int[0, 3], (s, r, shard) => (Score: s * 0.25m, Reached: r, Shard: shard))
        .Array[0, 120].Select(rows => rows.Select((m, i) => new Entry($"u{i}", m.Score, m.Reached)).ToArray());

    private static List<Entry>[] Spread(Entry[] members, int shards)
    {
        var byShard = Enumerable.Range(0, shards).Select(_ => new List<Entry>()).ToArray();
        foreach (var m in members) byShard[BoardShards.Of(m.UserId, shards)].Add(m);
        foreach (var shard in byShard) shard.Sort(Order);
        return byShard;
    }

    [Fact]
    public void a_page_is_the_slice_of_the_whole_ranking() =>
        Gen.Select(Members, Gen.Int[1, 5], Gen.Int[0, 130], Gen.Int[1, 40]).Sample((members, shards, offset, limit) =>
        {
            var whole = members.OrderBy(m => m, Comparer<Entry>.Create(Order)).ToList();
            var tops = Spread(members, shards).Select(s => (IReadOnlyCollection<Entry>)s.Take(offset + limit).ToList());
            ShardMerge.Page(tops, offset, limit, Order).ShouldBe(whole.Skip(offset).Take(limit).ToList());
        });

    [Fact]
    public void around_a_member_are_its_neighbours_in_the_whole_ranking() =>
        Gen.Select(Members.Where(m => m.Length > 0), Gen.Int[1, 5], Gen.Int[1, 6], Gen.Int[0, 1000]).Sample((members, shards, count, pick) =>
        {
            var whole = members.OrderBy(m => m, Comparer<Entry>.Create(Order)).ToList();
            var self = members[pick % members.Length];
            var at = whole.IndexOf(self);
            var parts = Spread(members, shards).Select(shard =>
            {
                var before = shard.Where(m => Order(m, self) < 0).ToList();
                var after = shard.Where(m => Order(m, self) > 0).ToList();
                return ((IReadOnlyCollection<Entry>)before.Skip(Math.Max(0, before.Count - count)).ToList(), (IReadOnlyCollection<Entry>)after.Take(count).ToList());
            });
            var (above, below) = ShardMerge.Around(parts, count, Order);
            above.ShouldBe(whole.Skip(Math.Max(0, at - count)).Take(at - Math.Max(0, at - count)).ToList());
            below.ShouldBe(whole.Skip(at + 1).Take(count).ToList());
        });
}
