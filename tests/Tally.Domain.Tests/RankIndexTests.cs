using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

public class RankIndexTests
{
    private static readonly Comparison<RankEntry> Order = (a, b) =>
        a.Score != b.Score ? b.Score.CompareTo(a.Score)
        : a.Reached != b.Reached ? a.Reached.CompareTo(b.Reached)
        : a.Member.CompareTo(b.Member);

    // Op: member, score (few distinct values so ties are common), reached (few too), remove?
    private static readonly Gen<(int Member, decimal Score, long Reached, bool Remove)> Op =
        Gen.Select(Gen.Int[0, 40], Gen.Int[0, 6], Gen.Long[1, 5], Gen.Int[0, 9],
            (m, s, r, k) => (m, s * 0.5m, r, k == 0));

    [Fact]
    public void ranks_pages_and_counts_match_a_sorted_list_after_any_operations()
    {
        Gen.Select(Op.Array[0, 200], Gen.Int[0, 50], Gen.Int[1, 20]).Sample((ops, offset, limit) =>
        {
            var index = new RankIndex(4);
            var reference = new Dictionary<int, RankEntry>();
            foreach (var op in ops)
            {
                if (op.Remove)
                {
                    index.Remove(op.Member).ShouldBe(reference.Remove(op.Member));
                }
                else
                {
                    index.Set(op.Member, op.Score, op.Reached);
                    reference[op.Member] = new RankEntry(op.Member, op.Score, op.Reached);
                }
            }
            var sorted = reference.Values.ToList();
            sorted.Sort(Order);

            index.Count.ShouldBe(sorted.Count);
            for (var i = 0; i < sorted.Count; i++)
            {
                index.RankOf(sorted[i].Member).ShouldBe(i + 1);
                index.CountBefore(sorted[i].Score, sorted[i].Reached, sorted[i].Member).ShouldBe(i);
            }
            index.RankOf(1000).ShouldBe(0);

            var page = new List<RankEntry>();
            index.Page(offset, limit, page);
            page.ShouldBe(sorted.Skip(offset).Take(limit).ToList());
        }, iter: 3000);
    }

    [Fact]
    public void count_before_a_position_from_another_shard_counts_strictly_better_members()
    {
        Gen.Select(Op.Array[0, 100], Gen.Int[0, 6], Gen.Long[1, 5]).Sample((ops, score, reached) =>
        {
            var index = new RankIndex();
            var reference = new Dictionary<int, RankEntry>();
            foreach (var op in ops)
            {
                index.Set(op.Member, op.Score, op.Reached);
                reference[op.Member] = new RankEntry(op.Member, op.Score, op.Reached);
            }
            var probe = score * 0.5m;
            var expected = reference.Values.Count(e => e.Score > probe || (e.Score == probe && e.Reached < reached));
            index.CountBefore(probe, reached).ShouldBe(expected);
        }, iter: 2000);
    }

    [Fact]
    public void equal_scores_rank_by_who_reached_them_first()
    {
        var index = new RankIndex();
        index.Set(7, 10m, reached: 300);
        index.Set(8, 10m, reached: 100);
        index.Set(9, 12.5m, reached: 400);
        index.RankOf(9).ShouldBe(1);
        index.RankOf(8).ShouldBe(2);
        index.RankOf(7).ShouldBe(3);
    }

    [Fact]
    public void a_large_index_stays_consistent_with_sequential_members()
    {
        // Sequential members and rising scores are the worst case for an unbalanced tree.
        var index = new RankIndex();
        const int n = 200_000;
        for (var i = 0; i < n; i++) index.Set(i, i, i + 1);
        index.RankOf(n - 1).ShouldBe(1);
        index.RankOf(0).ShouldBe(n);
        for (var i = 0; i < n; i += 2) index.Set(i, n + i, n + i + 1);
        index.RankOf(n - 2).ShouldBe(1);
        var page = new List<RankEntry>();
        index.Page(n - 3, 5, page);
        page.Select(e => e.Member).ShouldBe(new[] { 5, 3, 1 });
    }
}
