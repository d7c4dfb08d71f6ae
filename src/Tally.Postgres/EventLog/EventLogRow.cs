using Tally.Domain.Events;

namespace Tally.Postgres.EventLog;

/// <summary>
/// One event as written to <c>user_action_events</c>: the validated event itself, its tenant-local day
/// (the partition key), when it arrived (the grain's business clock: checkpoint timelines depend on it) and
/// the writing activation's <paramref name="Epoch"/> (<see cref="LoadedUser.Epoch"/>): the row is refused if
/// the user has a newer activation.
/// </summary>
internal sealed record EventLogRow(string TenantId, long Epoch, DateOnly ActionDate, DateTimeOffset ArrivedAt, ValidEvent Event);
