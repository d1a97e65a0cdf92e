#!/usr/bin/env bash
# network3 on a GPU machine that has JAX (CUDA) and PyTorch but no PyTensor.
#
#   bash benchmarks/gpu.sh prepare   # here, with internet: PyTensor's wheels -> .whl/
#   bash benchmarks/gpu.sh           # there: install them, check, benchmark
#
# The run writes benchmarks/results/gpu.md/.json (and copies them to $OUT when
# that is set, as on the device tool's machines).  It first runs the book's
# command verbatim:
#   THEANO_FLAGS=mode=FAST_RUN,device=gpu,floatX=float32 python test.py
# on one epoch, then benchmarks/bench_gpu.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "${1:-}" = prepare ]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    for pkg in pytensor==3.0.7 cons==0.4.7 etuples==0.3.10 logical-unification==0.4.7 \
               miniKanren==1.0.5; do
        $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            -d .whl "$pkg" || $PY -m pip download -q --no-deps -d .whl "$pkg"
    done
    ls .whl
    exit 0
fi

if [ -d .whl ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import jax; print('JAX', jax.__version__, jax.devices())"

# the book's command, verbatim (one epoch, to keep it short)
cat > /tmp/test.py <<'PYEOF'
import network3
from network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, ReLU
training_data, validation_data, test_data = network3.load_data_shared()
mini_batch_size = 10
net = Network([
    ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                  filter_shape=(20, 1, 5, 5), poolsize=(2, 2), activation_fn=ReLU),
    ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12),
                  filter_shape=(40, 20, 5, 5), poolsize=(2, 2), activation_fn=ReLU),
    FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=ReLU),
    SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
net.SGD(training_data, 1, mini_batch_size, 0.03, validation_data, test_data, lmbda=0.1)
PYEOF
time THEANO_FLAGS=mode=FAST_RUN,device=gpu,floatX=float32 $PY /tmp/test.py

$PY benchmarks/bench_gpu.py --device gpu "$@"
if [ -n "${OUT:-}" ]; then
    cp benchmarks/results/gpu.md benchmarks/results/gpu.json "$OUT"/
fi
