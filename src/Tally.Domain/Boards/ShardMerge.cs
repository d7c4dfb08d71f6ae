namespace Tally.Domain.Boards;

/// <summary>
/// Merges what a board's shards answer into one board. A user lives on exactly one shard, so the board's top N is within
/// the union of every shard's top N, and the users ranked just above (below) someone are within the union of each shard's
/// nearest ones above (below). Entries are ordered by <see cref="RankOrder"/> through <c>order</c>.
/// </summary>
public static class ShardMerge
{
    /// <summary>Ranks <c>offset + 1</c> to <c>offset + limit</c> of the board, from each shard's first
    /// <c>offset + limit</c> entries.</summary>
    public static List<T> Page<T>(IEnumerable<IReadOnlyCollection<T>> shardTops, int offset, int limit, Comparison<T> order)
    {
        var all = new List<T>();
        foreach (var top in shardTops) all.AddRange(top);
        all.Sort(order);
        var page = new List<T>(Math.Min(limit, Math.Max(0, all.Count - offset)));
        for (var i = offset; i < all.Count && page.Count < limit; i++) page.Add(all[i]);
        return page;
    }

    /// <summary>The <paramref name="count"/> entries just above a user (nearest last) and just below (nearest first),
    /// from each shard's nearest <paramref name="count"/> on either side.</summary>
    public static (List<T> Above, List<T> Below) Around<T>(IEnumerable<(IReadOnlyCollection<T> Before, IReadOnlyCollection<T> After)> shards, int count,
        Comparison<T> order)
    {
        var above = new List<T>();
        var below = new List<T>();
        foreach (var (before, after) in shards)
        {
            above.AddRange(before);
            below.AddRange(after);
        }
        above.Sort(order);
        below.Sort(order);
        if (above.Count > count) above.RemoveRange(0, above.Count - count);
        if (below.Count > count) below.RemoveRange(count, below.Count - count);
        return (above, below);
    }
}
