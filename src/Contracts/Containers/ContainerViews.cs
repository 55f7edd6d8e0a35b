using System.Text.Json;

namespace Hive.Contracts.Containers;

/// <summary>A destroyed agent whose state dir is kept: <c>bytes</c> is its size on disk.</summary>
public sealed record TombstoneView(string Name, DateTimeOffset DestroyedAt, long Bytes, TombstoneRetentionStatus Retention);

/// <summary>
/// Where a tombstone stands with retention: <c>off</c> (retention is off), <c>waiting</c> (purged by the first sweep after
/// <c>due_at</c>), <c>due</c> (the next sweep checks it and purges it unless it holds unpushed work), <c>kept</c> (a sweep
/// found <c>reason</c> at <c>checked_at</c>; checked again by each sweep).
/// </summary>
public sealed record TombstoneRetentionStatus(string State, DateTimeOffset? DueAt, string? Reason, DateTimeOffset? CheckedAt);

/// <summary>
/// The tombstones as a whole: their total size on disk, the retention in days (null: off) and when the next sweep runs
/// (null: off, or not scheduled yet).
/// </summary>
public sealed record TombstoneRetentionSummary(int? RetainDays, DateTimeOffset? NextSweepAt, long TotalBytes);

/// <summary>A secret as the operator sees it listed: its name and when it was last set. Never its value.</summary>
public sealed record SecretView(string Name, DateTimeOffset UpdatedAt);

/// <summary>An outside thing agents are built from, pinned: a local git repository (pinned to a commit) or a path (a content hash).</summary>
public sealed record MetaInput(string Name, string Source, string? Pin);

/// <summary>
/// An approval as the operator sees it: what was asked (<c>payload</c>), by whom, what was decided, and when an approved
/// one was carried out (<c>applied_at</c>: a destroy done, a configuration deployed or failed; a spawn with its decision).
/// </summary>
public sealed record ApprovalView(
    long Id, string Kind, string Requester, string Agent, JsonElement Payload, string Status, DateTimeOffset CreatedAt,
    string? DecidedBy, DateTimeOffset? DecidedAt, string? Reason, DateTimeOffset? AppliedAt = null);
