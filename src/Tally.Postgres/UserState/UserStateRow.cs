namespace Tally.Postgres.UserState;

/// <summary>One user's saved stats (binary <c>UserStatsCodec</c> form) and the last event they include.</summary>
public sealed record UserStateRow(string TenantId, string UserId, int Shard, long LastEventId, byte[] Stats);
