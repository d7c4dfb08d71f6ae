namespace Tally.Domain.Boards;

/// <summary>
/// The users one board shard knows, each under a small member number its boards key their cells by: the user id
/// behind each number, the newest user version (event id) the shard applied for it, and the removals that must
/// keep older cells out (decision 012). Members are never forgotten within an activation: a number stays the same
/// user's, so board entries never need rewriting.
/// </summary>
public sealed class ShardMembers
{
    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);
    private readonly List<string> _userIds = new();
    private readonly List<long> _versions = new();
    private readonly Dictionary<int, long> _erasedThrough = new();

    public ShardMembers() => ByUserId = (a, b) => string.CompareOrdinal(_userIds[a], _userIds[b]);

    /// <summary>Members tying on score and reached ordered by user id (<see cref="RankOrder"/>), as the cross-shard merge orders them.</summary>
    public Comparison<int> ByUserId { get; }

    public int Count => _userIds.Count;

    /// <summary>The user's member number, given on first sight.</summary>
    public int Of(string userId)
    {
        if (_numbers.TryGetValue(userId, out var member)) return member;
        member = _userIds.Count;
        _userIds.Add(userId);
        _versions.Add(0);
        _numbers[userId] = member;
        return member;
    }

    /// <summary>The user's member number if the shard has seen the user.</summary>
    public bool TryFind(string userId, out int member) => _numbers.TryGetValue(userId, out member);

    public string UserId(int member) => _userIds[member];

    /// <summary>The newest user version applied for the member.</summary>
    public long Version(int member) => _versions[member];

    /// <summary>Records that the member's state through <paramref name="version"/> is applied; versions never go back.</summary>
    public void Advance(int member, long version)
    {
        if (version > _versions[member]) _versions[member] = version;
    }

    /// <summary>Whether the shard has not yet applied the user's state through <paramref name="eventId"/>.</summary>
    public bool IsBehind(string userId, long eventId) => !_numbers.TryGetValue(userId, out var member) || _versions[member] < eventId;

    /// <summary>Marks the member removed through <paramref name="throughEventId"/>: cells of that version or older are refused from now on.</summary>
    public void Erase(int member, long throughEventId) =>
        _erasedThrough[member] = Math.Max(throughEventId, _erasedThrough.GetValueOrDefault(member));

    /// <summary>Whether a cell of <paramref name="cellVersion"/> was published before the member's removal.</summary>
    public bool IsErased(int member, long cellVersion) =>
        _erasedThrough.Count > 0 && _erasedThrough.TryGetValue(member, out var erased) && cellVersion <= erased;
}
