using System.Runtime.InteropServices;

namespace Hive.Features.StateFiles;

/// <summary>
/// The open(2) flag values of one architecture. They differ between architectures, and a wrong one fails silently:
/// x86-64's O_NOFOLLOW (0x20000) is O_DIRECT on arm64 and O_LARGEFILE on arm, so the kernel would accept it and
/// follow the symlink. Hence a table per architecture, and no guess for one that is not in it.
/// </summary>
internal sealed record OpenFlags(int NoCtty, int NonBlock, int Directory, int NoFollow, int CloseOnExec, int Path)
{
    /// <summary>O_RDONLY is 0 on every Linux architecture.</summary>
    public const int ReadOnly = 0;

    // O_WRONLY 01, O_CREAT 0100, O_EXCL 0200: asm-generic's values, which arm, arm64 and powerpc do not override (only
    // alpha, mips, parisc and sparc do, and .NET runs on none of them).
    public const int WriteOnly = 0x1;
    public const int Create = 0x40;
    public const int Exclusive = 0x80;

    // Linux include/uapi/asm-generic/fcntl.h (octal there): O_NOCTTY 0400, O_NONBLOCK 04000, O_DIRECTORY 0200000,
    // O_NOFOLLOW 0400000, O_CLOEXEC 02000000, O_PATH 010000000. x86, s390, riscv and loongarch have no fcntl.h of
    // their own and use these.
    private static readonly OpenFlags AsmGeneric = new(
        NoCtty: 0x100, NonBlock: 0x800, Directory: 0x10000, NoFollow: 0x20000, CloseOnExec: 0x80000, Path: 0x200000);

    // arch/arm/include/uapi/asm/fcntl.h, arch/arm64/include/uapi/asm/fcntl.h (kept for AArch32 compat) and
    // arch/powerpc/include/uapi/asm/fcntl.h: O_DIRECTORY 040000, O_NOFOLLOW 0100000; the rest from asm-generic.
    private static readonly OpenFlags ArmAndPowerPc = AsmGeneric with { Directory = 0x4000, NoFollow = 0x8000 };

    /// <summary>The architectures .NET supports on Linux.</summary>
    private static readonly Dictionary<Architecture, OpenFlags> ByArchitecture = new()
    {
        [Architecture.X64] = AsmGeneric,
        [Architecture.S390x] = AsmGeneric,
        [Architecture.LoongArch64] = AsmGeneric,
        [Architecture.RiscV64] = AsmGeneric,
        [Architecture.Arm64] = ArmAndPowerPc,
        [Architecture.Arm] = ArmAndPowerPc,
        [Architecture.Ppc64le] = ArmAndPowerPc,
    };

    public static OpenFlags For(Architecture architecture) =>
        ByArchitecture.TryGetValue(architecture, out var flags)
            ? flags
            : throw new PlatformNotSupportedException(
                $"Hive does not know the open(2) flag values of {architecture} (it knows {string.Join(", ", ByArchitecture.Keys)}); it will not " +
                "guess them, because a wrong O_NOFOLLOW silently follows symlinks. Add the architecture to OpenFlags.");
}
