namespace Hive.Contracts.Containers;

// The payloads of the Containers slice's dashboard events. Lists are whole (they are small: a snapshot beats a diff).

/// <summary><c>tombstones_changed</c>: every tombstone, and the retention summary (the snapshot's <c>tombstone_retention</c>).</summary>
public sealed record TombstonesChangedPayload(IReadOnlyList<TombstoneView> Tombstones, TombstoneRetentionSummary Retention);

/// <summary><c>meta_committed</c>: <c>main</c> of the meta repo moved to <c>commit</c>.</summary>
public sealed record MetaCommittedPayload(string Commit);

/// <summary><c>meta_inputs_changed</c>: every meta input, after they changed.</summary>
public sealed record MetaInputsChangedPayload(IReadOnlyList<MetaInput> Inputs);

/// <summary><c>secrets_changed</c>: every secret's name and date (never a value).</summary>
public sealed record SecretsChangedPayload(IReadOnlyList<SecretView> Secrets);

/// <summary><c>agent_usage</c>: a running agent's memory in MiB, CPU in percent of one core over the last window, processes.</summary>
public sealed record AgentUsagePayload(string Agent, double MemoryMib, double CpuPercent, long Pids);

/// <summary><c>approval_added</c> and <c>approval_resolved</c>.</summary>
public sealed record ApprovalPayload(ApprovalView Approval);
