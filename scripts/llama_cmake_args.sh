#!/usr/bin/env bash
# Print the CMake flags llama.cpp is built with here: this CPU's vector units (AVX2, and AVX-512 where
# present) but not -march=native, which would also switch on the AMX kernels that crash on some virtual
# machines. Used by scripts/install.sh (llama-cpp-python) and bench/local_llm.py (llama-server).
args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
cpu=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
for pair in avx512f:AVX512 avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
  case " $cpu " in *" ${pair%%:*} "*) args="$args -DGGML_${pair##*:}=ON" ;; esac
done
echo "$args"
