using System.Globalization;

namespace Tally.Domain.Boards;

/// <summary>Grain keys of board shards and the shard of a user.</summary>
public static class BoardShards
{
    public static string Key(string tenantId, int shard) => string.Concat(tenantId, "/", shard.ToString(CultureInfo.InvariantCulture));

    public static (string TenantId, int Shard) ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key.AsSpan(slash + 1), CultureInfo.InvariantCulture));
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
