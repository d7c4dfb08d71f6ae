using CsCheck;
using Shouldly;
using Tally.Domain.Boards;
using Xunit;

namespace Tally.Domain.Tests;

public class RankIndexTests
{
    /// <summary>A member's user id: "u10" orders before "u9" (ordinal), so a tie broken by member number would show.</summary>
    private static string UserOf(int member) => $"u{member}";

    /// <summary>What a board does around the index: remember each member's slot; ties go to the user ids, as a shard's do.</summary>
    private sealed class Board
    {
        public readonly RankIndex Index = new(4, (a, b) => string.CompareOrdinal(UserOf(a), UserOf(b)));
        public readonly Dictionary<int, int> Slots = new();

        public void Set(int member, decimal score, long reached)
        {
            if (Slots.TryGetValue(member, out var slot)) Index.Move(slot, score, reached);
            else Slots[member] = Index.Add(member, score, reached);
        }

        public bool Remove(int member)
        {
            if (!Slots.Remove(member, out var slot)) return false;
            Index.Remove(slot);
            return true;
        }

        public int RankOf(int member) => Slots.TryGetValue(member, out var slot) ? Index.RankOf(slot) : 0;
    }

    /// <summary>The one ranking order (RankOrder), by the members' user ids: every test below holds the index to it.</summary>
    private static readonly Comparison<RankEntry> Order = (a, b) =>
        RankOrder.Compare(a.Score, a.Reached, UserOf(a.Member), b.Score, b.Reached, UserOf(b.Member));

    /// <summary>Few distinct scores, so ties are common. Most are whole units of 1/10,000 (held as longs); some are not (more
    /// decimals, or past a long of units), held as decimals; 1.50000 is 1.5 written with another scale.</summary>
    private static readonly decimal[] Scores =
        [0m, 0.5m, 1m, 1.5m, 2m, 2.5m, 3m, 1.50000m, 1.00005m, -0.00001m, 922_337_203_685_478m, -922_337_203_685_478m];

    // Op: member, score, reached (few too), remove?
    private static readonly Gen<(int Member, decimal Score, long Reached, bool Remove)> Op =
        Gen.Select(Gen.Int[0, 40], Gen.Int[0, Scores.Length - 1], Gen.Long[1, 5], Gen.Int[0, 9],
            (m, s, r, k) => (m, Scores[s], r, k == 0));

    [Fact]
    public void ranks_pages_and_counts_match_a_sorted_list_after_any_operations()
    {
        Gen.Select(Op.Array[0, 200], Gen.Int[0, 50], Gen.Int[1, 20]).Sample((ops, offset, limit) =>
        {
            var board = new Board();
            var reference = new Dictionary<int, RankEntry>();
            foreach (var op in ops)
            {
                if (op.Remove)
                {
                    board.Remove(op.Member).ShouldBe(reference.Remove(op.Member));
                }
                else
                {
                    board.Set(op.Member, op.Score, op.Reached);
                    reference[op.Member] = new RankEntry(op.Member, op.Score, op.Reached);
                }
            }
            var sorted = reference.Values.ToList();
            sorted.Sort(Order);

            board.Index.Count.ShouldBe(sorted.Count);
            for (var i = 0; i < sorted.Count; i++)
            {
                board.RankOf(sorted[i].Member).ShouldBe(i + 1);
                board.Index.Get(board.Slots[sorted[i].Member]).ShouldBe(sorted[i]);
                board.Index.CountBefore(sorted[i].Score, sorted[i].Reached, sorted[i].Member).ShouldBe(i);
            }

            var page = new List<RankEntry>();
            board.Index.Page(offset, limit, page);
            page.ShouldBe(sorted.Skip(offset).Take(limit).ToList());
        }, iter: 3000);
    }

    [Fact]
    public void many_added_at_once_rank_and_change_like_members_added_one_by_one()
    {
        var unique = Gen.Select(Gen.Int[0, 6], Gen.Long[1, 5], (s, r) => (Score: s * 0.5m, Reached: r));
        Gen.Select(unique.Array[0, 300], Op.Array[0, 100], Gen.Int[0, 1]).Sample((initial, ops, startFilled) =>
        {
            var bulk = new Board();
            var single = new Board();
            // Into an empty index (the linear build) or, half the time, one that already holds a member.
            if (startFilled == 1)
            {
                bulk.Set(1000, 1m, 1);
                single.Set(1000, 1m, 1);
            }
            var entries = initial.Select((e, i) => new RankEntry(i, e.Score, e.Reached)).ToArray();
            var slots = new int[entries.Length];
            bulk.Index.AddMany(entries.Select(e => (e.Member, new BoardCell(e.Score, 0, e.Reached, 0))).ToArray(), slots);
            for (var i = 0; i < entries.Length; i++) bulk.Slots[i] = slots[i];
            foreach (var e in entries) single.Set(e.Member, e.Score, e.Reached);
            foreach (var op in ops)
            {
                if (op.Remove)
                {
                    bulk.Remove(op.Member).ShouldBe(single.Remove(op.Member));
                }
                else
                {
                    bulk.Set(op.Member, op.Score, op.Reached);
                    single.Set(op.Member, op.Score, op.Reached);
                }
            }
            bulk.Index.Count.ShouldBe(single.Index.Count);
            var (a, b) = (new List<RankEntry>(), new List<RankEntry>());
            bulk.Index.Page(0, int.MaxValue, a);
            single.Index.Page(0, int.MaxValue, b);
            a.ShouldBe(b);
            foreach (var member in single.Slots.Keys)
                bulk.RankOf(member).ShouldBe(single.RankOf(member));
        }, iter: 2000);
    }

    [Fact]
    public void reads_between_writes_see_every_write_before_them_however_many_wait()
    {
        // Writes wait for the next read, which places them one by one (few waiting against the members), rebuilds the
        // tree (many), or is forced by the writes themselves (past an eighth of the members, at least 256): sizes and read rates
        // here reach all three, and every read is checked against the writes made so far.
        var sizes = Gen.Select(Gen.Int[0, 3000], Gen.Int[1, 400], Gen.Int[0, 2500], (initial, readEvery, ops) => (initial, readEvery, ops));
        sizes.Sample((initial, readEvery, opCount) =>
        {
            var random = new Random(initial * 7919 + readEvery * 31 + opCount);
            var board = new Board();
            var reference = new Dictionary<int, RankEntry>();
            void Set(int member, decimal score, long reached)
            {
                board.Set(member, score, reached);
                reference[member] = new RankEntry(member, score, reached);
            }
            for (var m = 0; m < initial; m++) Set(m, random.Next(0, 200) * 0.25m, random.Next(1, 1000));
            board.Index.Count.ShouldBe(reference.Count);
            var members = Math.Max(initial * 6 / 5, 10);
            for (var i = 0; i < opCount; i++)
            {
                var member = random.Next(members);
                if (random.Next(20) == 0) board.Remove(member).ShouldBe(reference.Remove(member));
                else Set(member, random.Next(0, 200) * 0.25m, random.Next(1, 1000));
                if (i % readEvery != 0 || reference.Count == 0) continue;
                var probe = reference.Values.ElementAt(random.Next(reference.Count));
                var before = reference.Values.Count(e => Order(e, probe) < 0);
                board.Index.CountBefore(probe.Score, probe.Reached, probe.Member).ShouldBe(before);
                board.RankOf(probe.Member).ShouldBe(before + 1);
            }
            var sorted = reference.Values.ToList();
            sorted.Sort(Order);
            var all = new List<RankEntry>();
            board.Index.Page(0, int.MaxValue, all);
            all.ShouldBe(sorted);
            board.Index.Count.ShouldBe(sorted.Count);
        }, iter: 150);
    }

    [Fact]
    public void count_before_a_position_from_another_shard_counts_strictly_better_members()
    {
        Gen.Select(Op.Array[0, 100], Gen.Int[0, Scores.Length - 1], Gen.Long[1, 5]).Sample((ops, score, reached) =>
        {
            var board = new Board();
            var reference = new Dictionary<int, RankEntry>();
            foreach (var op in ops)
            {
                board.Set(op.Member, op.Score, op.Reached);
                reference[op.Member] = new RankEntry(op.Member, op.Score, op.Reached);
            }
            var probe = Scores[score];
            var expected = reference.Values.Count(e => RankOrder.Before(e.Score, e.Reached, probe, reached));
            board.Index.CountBefore(probe, reached).ShouldBe(expected);
        }, iter: 2000);
    }

    [Theory]
    [InlineData(true, new[] { 10, 2, 9 })]  // "u10" < "u2" < "u9", as the cross-shard merge orders them
    [InlineData(false, new[] { 2, 9, 10 })] // an index without a tie-break orders by member number
    public void members_tying_on_score_and_reached_rank_by_the_tie_break(bool byUserId, int[] expected)
    {
        var index = byUserId ? new Board().Index : new RankIndex();
        foreach (var member in new[] { 9, 10, 2 }) index.Add(member, 5m, 1);
        var page = new List<RankEntry>();
        index.Page(0, 10, page);
        page.Select(e => e.Member).ShouldBe(expected);
    }

    [Fact]
    public void equal_scores_rank_by_who_reached_them_first()
    {
        var board = new Board();
        board.Set(7, 10m, reached: 300);
        board.Set(8, 10m, reached: 100);
        board.Set(9, 12.5m, reached: 400);
        board.RankOf(9).ShouldBe(1);
        board.RankOf(8).ShouldBe(2);
        board.RankOf(7).ShouldBe(3);
    }

    [Fact]
    public void a_large_index_stays_consistent_with_sequential_members()
    {
        // Sequential members and rising scores are the worst case for an unbalanced tree.
        var board = new Board();
        const int n = 200_000;
        for (var i = 0; i < n; i++) board.Set(i, i, i + 1);
        board.RankOf(n - 1).ShouldBe(1);
        board.RankOf(0).ShouldBe(n);
        for (var i = 0; i < n; i += 2) board.Set(i, n + i, n + i + 1);
        board.RankOf(n - 2).ShouldBe(1);
        var page = new List<RankEntry>();
        board.Index.Page(n - 3, 5, page);
        page.Select(e => e.Member).ShouldBe(new[] { 5, 3, 1 });
    }
}
