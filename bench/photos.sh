# photos.sh, sourced by bench/decode.sh and bench/predict.sh: installs what
# testdata/vision/photos/gen.py and the peers need (Debian packages) and
# makes the benchmark photos in $DIR if they are not there.
if [ ! -d /usr/share/wallpapers/Autumn ] || [ ! -d /usr/lib/python3/dist-packages/skimage/data ] || \
   ! /usr/bin/python3 -c 'import cv2' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-opencv python3-skimage \
    plasma-workspace-wallpapers libturbojpeg0 >/dev/null
fi
[ -d "$DIR" ] || /usr/bin/python3 testdata/vision/photos/gen.py --bench "$DIR"
