namespace Tally.Postgres.UserState;

/// <summary>One user's saved stats (binary <c>UserStatsCodec</c> form), the last event they include and when the
/// user's next checkpoint decision is due (the scheduler's index; null without a timeline).</summary>
public sealed record UserStateRow(string TenantId, string UserId, int Shard, long LastEventId, byte[] Stats, DateTimeOffset? CheckpointDueAt = null);
