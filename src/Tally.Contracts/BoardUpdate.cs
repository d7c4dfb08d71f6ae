using Tally.Domain.Boards;

namespace Tally.Contracts;

/// <summary>
/// A user's absolute standing on some boards after event <see cref="UserVersion"/> (the id of the
/// newest event applied). Boards keep a cell only if its version is newer than what they hold, so
/// redelivered and stale updates change nothing.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record UserBoardUpdate(
    [property: Id(0)] string UserId,
    [property: Id(1)] long UserVersion,
    [property: Id(2)] BoardKey[] Keys,
    [property: Id(3)] BoardCell[] Cells);

/// <summary>What a silo sends a board shard: many users' updates, gathered for a few milliseconds.</summary>
[GenerateSerializer, Immutable]
public sealed record BoardUpdateBatch(
    [property: Id(0)] UserBoardUpdate[] Users,
    [property: Id(1)] long PublishedAtUnixMs);

/// <summary>Grain keys of board shards and the shard of a user.</summary>
public static class BoardShards
{
    public static string Key(string tenantId, int shard) => string.Concat(tenantId, "/", shard.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static (string TenantId, int Shard) ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The shard of a user: FNV-1a of the id's UTF-16 code units. Stored with user state; never change it.</summary>
    public static int Of(string userId, int shards)
    {
        var hash = 2166136261u;
        foreach (var c in userId)
        {
            hash = (hash ^ (byte)c) * 16777619u;
            hash = (hash ^ (byte)(c >> 8)) * 16777619u;
        }
        return (int)(hash % (uint)shards);
    }
}
