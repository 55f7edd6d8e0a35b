using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// The seccomp program every bubblewrap agent runs under (bwrap's <c>--seccomp FD</c> loads it): the system calls a
/// sandboxed agent has no business making fail with EPERM, and a call made through another architecture's entry (the
/// 32-bit or x32 ABI on x86-64, whose numbers differ) kills the process, so no number can be smuggled past the list.
/// Built here as classic BPF, so no library is needed; the numbers come from each architecture's unistd headers.
/// <para>
/// <c>socket</c> and <c>socketpair</c> are allowed for the families an agent needs alone (<see cref="AllowedFamilies"/>:
/// Unix, IPv4, IPv6, netlink); any other fails with EAFNOSUPPORT. A network namespace closes IP, but not AF_VSOCK, a path
/// from a VM to its hypervisor host that no namespace holds: open and sealed agents alike are kept from it.
/// </para>
/// </summary>
internal static class SeccompFilter
{
    /// <summary>The refused calls, by name: reaching files by handle, mounting, tracing, loading code into the kernel, keys, io_uring (its ring runs operations no filter sees).</summary>
    public static readonly string[] Refused =
    [
        "open_by_handle_at", "name_to_handle_at", "mount", "umount2", "pivot_root", "ptrace", "process_vm_readv",
        "process_vm_writev", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf", "keyctl",
        "add_key", "request_key", "perf_event_open", "userfaultfd", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
        "fspick", "mount_setattr", "swapon", "swapoff", "reboot", "acct", "syslog", "quotactl", "lookup_dcookie",
        "io_uring_setup", "io_uring_enter", "io_uring_register", "kcmp", "pidfd_getfd",
    ];

    /// <summary>The address families <c>socket</c> and <c>socketpair</c> may make: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.</summary>
    public static readonly uint[] AllowedFamilies = [1, 2, 10, 16];

    // arch/x86/entry/syscalls/syscall_64.tbl
    private static readonly Dictionary<string, uint> X64 = new()
    {
        ["socket"] = 41, ["socketpair"] = 53,
        ["open_by_handle_at"] = 304, ["name_to_handle_at"] = 303, ["mount"] = 165, ["umount2"] = 166, ["pivot_root"] = 155,
        ["ptrace"] = 101, ["process_vm_readv"] = 310, ["process_vm_writev"] = 311, ["kexec_load"] = 246, ["kexec_file_load"] = 320,
        ["init_module"] = 175, ["finit_module"] = 313, ["delete_module"] = 176, ["bpf"] = 321, ["keyctl"] = 250, ["add_key"] = 248,
        ["request_key"] = 249, ["perf_event_open"] = 298, ["userfaultfd"] = 323, ["open_tree"] = 428, ["move_mount"] = 429,
        ["fsopen"] = 430, ["fsconfig"] = 431, ["fsmount"] = 432, ["fspick"] = 433, ["mount_setattr"] = 442, ["swapon"] = 167,
        ["swapoff"] = 168, ["reboot"] = 169, ["acct"] = 163, ["syslog"] = 103, ["quotactl"] = 179, ["lookup_dcookie"] = 212,
        ["io_uring_setup"] = 425, ["io_uring_enter"] = 426, ["io_uring_register"] = 427, ["kcmp"] = 312, ["pidfd_getfd"] = 438,
    };

    // include/uapi/asm-generic/unistd.h: arm64, riscv64 and loongarch64 share it.
    private static readonly Dictionary<string, uint> Generic = new()
    {
        ["socket"] = 198, ["socketpair"] = 199,
        ["open_by_handle_at"] = 265, ["name_to_handle_at"] = 264, ["mount"] = 40, ["umount2"] = 39, ["pivot_root"] = 41,
        ["ptrace"] = 117, ["process_vm_readv"] = 270, ["process_vm_writev"] = 271, ["kexec_load"] = 104, ["kexec_file_load"] = 294,
        ["init_module"] = 105, ["finit_module"] = 273, ["delete_module"] = 106, ["bpf"] = 280, ["keyctl"] = 219, ["add_key"] = 217,
        ["request_key"] = 218, ["perf_event_open"] = 241, ["userfaultfd"] = 282, ["open_tree"] = 428, ["move_mount"] = 429,
        ["fsopen"] = 430, ["fsconfig"] = 431, ["fsmount"] = 432, ["fspick"] = 433, ["mount_setattr"] = 442, ["swapon"] = 224,
        ["swapoff"] = 225, ["reboot"] = 142, ["acct"] = 89, ["syslog"] = 116, ["quotactl"] = 60, ["lookup_dcookie"] = 18,
        ["io_uring_setup"] = 425, ["io_uring_enter"] = 426, ["io_uring_register"] = 427, ["kcmp"] = 272, ["pidfd_getfd"] = 438,
    };

    // include/uapi/linux/audit.h
    private const uint AuditArchX64 = 0xC000003E, AuditArchAarch64 = 0xC00000B7, AuditArchRiscv64 = 0xC00000F3, AuditArchLoongarch64 = 0xC0000102;
    private const uint X32SyscallBit = 0x40000000;

    // include/uapi/linux/filter.h, bpf_common.h and seccomp.h
    private const ushort LoadWordAbsolute = 0x20, JumpIfEqual = 0x15, JumpIfGreaterOrEqual = 0x35, Return = 0x06;
    private const uint ReturnAllow = 0x7FFF0000, ReturnKillProcess = 0x80000000, ReturnErrno = 0x00050000, EPERM = 1, EAFNOSUPPORT = 97;
    private const uint OffsetOfNr = 0, OffsetOfArch = 4; // struct seccomp_data
    // args[0], a u64 in the machine's byte order: its low word (the family is an int).
    private static uint OffsetOfFirstArgument => BitConverter.IsLittleEndian ? 16u : 20u;

    /// <summary>Why no filter can be built on this machine's architecture, or null.</summary>
    public static string? Unavailable => Table() is null ? $"no seccomp table for {RuntimeInformation.ProcessArchitecture} (x64, arm64, riscv64 and loongarch64 have one)" : null;

    /// <summary>The program as bwrap reads it: an array of <c>struct sock_filter</c> in the machine's byte order.</summary>
    public static byte[] Build()
    {
        var (arch, numbers) = Table() ?? throw new InvalidOperationException(Unavailable);
        var program = new List<(ushort Code, byte True, byte False, uint K)>
        {
            (LoadWordAbsolute, 0, 0, OffsetOfArch),
            (JumpIfEqual, 1, 0, arch),
            (Return, 0, 0, ReturnKillProcess),
            (LoadWordAbsolute, 0, 0, OffsetOfNr),
        };
        if (arch == AuditArchX64)
        {
            // x32 calls carry the same audit arch with bit 30 set in the number.
            program.Add((JumpIfGreaterOrEqual, 0, 1, X32SyscallBit));
            program.Add((Return, 0, 0, ReturnKillProcess));
        }
        foreach (var name in Refused)
        {
            program.Add((JumpIfEqual, 0, 1, numbers[name]));
            program.Add((Return, 0, 0, ReturnErrno | EPERM));
        }
        // socket or socketpair: on to the family's check; anything else is allowed (the last instruction).
        program.Add((JumpIfEqual, 1, 0, numbers["socket"]));
        program.Add((JumpIfEqual, 0, (byte)(AllowedFamilies.Length + 2), numbers["socketpair"]));
        program.Add((LoadWordAbsolute, 0, 0, OffsetOfFirstArgument));
        for (var i = 0; i < AllowedFamilies.Length; i++)
            program.Add((JumpIfEqual, (byte)(AllowedFamilies.Length - i), 0, AllowedFamilies[i]));
        program.Add((Return, 0, 0, ReturnErrno | EAFNOSUPPORT));
        program.Add((Return, 0, 0, ReturnAllow));

        var bytes = new byte[program.Count * 8];
        for (var i = 0; i < program.Count; i++)
        {
            var (code, jt, jf, k) = program[i];
            var slot = bytes.AsSpan(i * 8, 8);
            if (BitConverter.IsLittleEndian)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(slot, code);
                BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], k);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(slot, code);
                BinaryPrimitives.WriteUInt32BigEndian(slot[4..], k);
            }
            slot[2] = jt;
            slot[3] = jf;
        }
        return bytes;
    }

    private static (uint Arch, Dictionary<string, uint> Numbers)? Table() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => (AuditArchX64, X64),
        Architecture.Arm64 => (AuditArchAarch64, Generic),
        Architecture.RiscV64 => (AuditArchRiscv64, Generic),
        Architecture.LoongArch64 => (AuditArchLoongarch64, Generic),
        _ => null,
    };
}
