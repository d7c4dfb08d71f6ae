namespace Tally.Domain.Boards;

/// <summary>
/// The one ranking order of every leaderboard: higher score first, then whoever reached the score
/// first (the lower event id), then the user id (ordinal) should two entries tie on both. The rank
/// index, the shards' neighbour probes and the cross-shard merge all order by it.
/// </summary>
public static class RankOrder
{
    /// <summary>Whether (score a, reached a) ranks strictly before (score b, reached b), ignoring who holds them.</summary>
    public static bool Before(decimal scoreA, long reachedA, decimal scoreB, long reachedB) =>
        scoreA != scoreB ? scoreA > scoreB : reachedA < reachedB;

    /// <summary>Best first; entries with equal score and reached order by user id.</summary>
    public static int Compare(decimal scoreA, long reachedA, string userA, decimal scoreB, long reachedB, string userB) =>
        scoreA != scoreB ? scoreB.CompareTo(scoreA)
        : reachedA != reachedB ? reachedA.CompareTo(reachedB)
        : string.CompareOrdinal(userA, userB);
}
